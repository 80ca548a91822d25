package io.steergate.worker;

import io.steergate.engine.eval.LinearProbe;
import io.steergate.engine.eval.ProbeScorer;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.HookSite;
import io.steergate.messages.Identifiers;
import io.steergate.messages.ProbeRequest;
import io.steergate.messages.SafeText;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The probes of the probe scorers jobs ask for, trained on the served model the first time a worker needs one and
 * then kept for the life of the process.
 *
 * <p>Why trained here rather than stored: a probe is a pure function of the model, the site and its two prompt sets
 * ({@link LinearProbe#fit} starts from zero and runs full-batch gradient descent; the activations are collected in a
 * fixed order and batch size), so every worker computes the same one, in about a second on stories260K, with nothing
 * to migrate or keep in step with the registry. The job names the sets by sha256 as the gateway's policy read them
 * (the intervention's {@code prompts/<name>.source.jsonl}, the concept, and {@code .target.jsonl}); the cache is keyed
 * by those hashes and the site, and a worker whose files hold other texts scores nothing rather than something else.
 */
@ApplicationScoped
public class TrainedProbes {

    private static final Logger LOG = Logger.getLogger(TrainedProbes.class);

    /** A probe ready to apply to a row's pooled activations at its site. */
    record Ready(String name, HookSite site, LinearProbe probe) {}

    @Inject
    ModelRuntime runtime;

    @ConfigProperty(name = "steergate.policy.dir", defaultValue = "policies")
    Path policiesDir;

    private final Map<String, LinearProbe> probes = new ConcurrentHashMap<>();
    private final Set<String> warned = ConcurrentHashMap.newKeySet();

    /** The probe {@code request} names, trained now if this worker has not yet; empty (and a warning) when it cannot be. */
    Optional<Ready> resolve(ProbeRequest request) {
        String key = request.site() + "@" + request.sourceSha256() + "/" + request.targetSha256();
        try {
            if (request.name() == null || !Identifiers.NAME.matcher(request.name()).matches() || request.intervention() == null
                    || !Identifiers.NAME.matcher(request.intervention()).matches() || request.sourceSha256() == null
                    || request.targetSha256() == null) {
                // only a forged job gets here: the gateway's policy parser checked every one of these
                throw new IllegalArgumentException("the job's probe request is incomplete or names no valid intervention");
            }
            HookSite site = HookSite.parse(request.site());
            LinearProbe probe = probes.get(key);
            if (probe == null) {
                probe = train(runtime.model(), site, request, policiesDir);
                probes.put(key, probe);
                LOG.infof("probe for scorer %s trained at %s on %s's prompt sets", request.name(), site, request.intervention());
            }
            return Optional.of(new Ready(request.name(), site, probe));
        } catch (IOException | RuntimeException e) {
            // whatever it is: a scorer that cannot be had must not fail the generation it would have scored
            if (warned.add(key)) {
                LOG.warnf("probe scorer %s is not evaluated: %s", SafeText.of(String.valueOf(request.name()), 64),
                        SafeText.of(e.getMessage(), SafeText.REASON_CHARS));
            }
            return Optional.empty();
        }
    }

    /**
     * Trains the probe of {@code request} at {@code site} on the intervention's prompt sets in {@code policiesDir},
     * which must hold the texts the request's hashes name.
     */
    static LinearProbe train(LlamaModel model, HookSite site, ProbeRequest request, Path policiesDir) throws IOException {
        if (site.layer() >= model.config().nLayers()) {
            throw new IllegalArgumentException("site " + site + " is beyond the model's " + model.config().nLayers() + " layers");
        }
        PromptSet concept = read(policiesDir, request.intervention(), "source", request.sourceSha256());
        PromptSet other = read(policiesDir, request.intervention(), "target", request.targetSha256());
        return ProbeScorer.train(model, site, concept.texts(), other.texts(), LinearProbe.Options.defaults()).probe();
    }

    private static PromptSet read(Path policiesDir, String intervention, String side, String sha256) throws IOException {
        Path file = policiesDir.resolve("prompts").resolve(intervention + "." + side + ".jsonl");
        PromptSet set = PromptSet.read(file);
        if (!set.sha256().equals(sha256)) {
            throw new IllegalArgumentException(file + " holds other texts (sha256 " + set.sha256() + ") than the policy read ("
                    + sha256 + ")");
        }
        return set;
    }
}
