package io.steergate.retraining;

import io.steergate.engine.eval.LexiconScorer;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.SafeText;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * What a job's evaluation gate measures with: the request's {@code evaluation} or the intervention's default, checked
 * when the job is queued (the prompt set exists and shares no text with the training sets, the lexicons load, the
 * strength is in range), and the files the trainer reads for it. A default names a JSONL file under the policy
 * directory; it is stored as a prompt set named after the file (prompts/kindness.elicit.jsonl: kindness-elicit), so
 * the job's held-out set is as immutable and hashed as its training sets.
 */
@ApplicationScoped
public class GateSpecs {

    private static final Pattern LEXICON_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");

    @Inject
    GateConfig config;

    @Inject
    PromptSetStore promptSets;

    @ConfigProperty(name = "steergate.policy.dir", defaultValue = "policies")
    Path policyDir;

    /**
     * The evaluation a job of {@code intervention} training on {@code source} and {@code target} gets: {@code asked}
     * checked, else the intervention's default, else none.
     *
     * @throws ApiError 400 naming the field (evaluation.prompts, evaluation.concept, evaluation.desired,
     *     evaluation.strength), among them a held-out set that shares texts with the training sets; 404 for an
     *     unknown prompt set
     */
    Optional<EvaluationRequest> resolve(String intervention, EvaluationRequest asked, String source, String target) {
        EvaluationRequest spec = asked != null ? asked : fromDefault(intervention);
        if (spec == null) {
            return Optional.empty();
        }
        if (spec.prompts() == null || spec.prompts().isBlank()) {
            throw invalid("evaluation.prompts: required (a stored prompt set of held-out prompts)");
        }
        lexicon("evaluation.concept", spec.concept());
        if (spec.desired() != null) {
            lexicon("evaluation.desired", spec.desired());
        }
        double strength = spec.strength() != null ? spec.strength() : config.strength();
        if (!(strength > 0 && strength <= SteeringPlan.MAX_STRENGTH)) {
            throw invalid("evaluation.strength: must be in (0, " + SteeringPlan.MAX_STRENGTH + "], got " + strength);
        }
        checkHeldOut(spec.prompts(), source, target);
        return Optional.of(new EvaluationRequest(spec.prompts(), spec.concept(), spec.desired(), strength));
    }

    private EvaluationRequest fromDefault(String intervention) {
        GateConfig.Default d = config.defaults().get(intervention);
        if (d == null) {
            return null;
        }
        Path file = policyDir.resolve(d.prompts());
        String name = file.getFileName().toString().replaceFirst("\\.jsonl$", "").replace('.', '-');
        String jsonl;
        try {
            jsonl = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ApiError(409, ErrorCode.CONFLICT, "evaluation: the default held-out set of '" + intervention
                    + "' (" + file + ") cannot be read: " + e.getMessage());
        }
        // the name is the file's while its stored set holds the same texts; an edited file (an upgrade, a fix) is stored
        // anew under a name of its texts' own, or every later training without an evaluation would be a 409
        String sha256;
        try {
            sha256 = PromptSet.parse(file.getFileName().toString(), file.toString(), jsonl).sha256();
        } catch (IllegalArgumentException e) {
            throw new ApiError(409, ErrorCode.CONFLICT, "evaluation: the default held-out set of '" + intervention
                    + "' (" + file + ") does not read: " + e.getMessage());
        }
        if (promptSets.get(name).map(stored -> !stored.sha256().equals(sha256)).orElse(false)) {
            name = name + "-" + sha256.substring(0, 8);
        }
        promptSets.importSet(name, jsonl);
        return new EvaluationRequest(name, d.concept(), d.desired().orElse(null),
                d.strength().isPresent() ? d.strength().getAsDouble() : null);
    }

    /** Refuses a held-out set that is a training set or shares a text with one: the gate would measure the fit. */
    private void checkHeldOut(String heldOut, String source, String target) {
        List<String> texts = promptSets.get(ApiError.textField("evaluation.prompts", heldOut)).map(PromptSetStore.PromptSetContent::texts).orElseThrow(() ->
                new ApiError(404, ErrorCode.NOT_FOUND, "evaluation.prompts: no prompt set '" + heldOut
                        + "'; import it with POST /v1/prompt-sets/" + heldOut));
        if (heldOut.equals(source) || heldOut.equals(target)) {
            throw invalid("evaluation.prompts: '" + heldOut + "' is a training set of this job; held-out prompts must"
                    + " not be trained on");
        }
        Set<String> trained = new HashSet<>();
        for (String set : List.of(source, target)) {
            promptSets.texts(set).forEach(t -> trained.add(t.strip()));
        }
        List<String> shared = texts.stream().filter(t -> trained.contains(t.strip())).toList();
        if (!shared.isEmpty()) {
            throw invalid("evaluation.prompts: held-out set '" + heldOut + "' shares " + shared.size() + " of its "
                    + texts.size() + " prompts with the training sets '" + source + "' and '" + target + "' (first: '"
                    + SafeText.of(shared.get(0), 80) + "'); held-out prompts must not be trained on");
        }
    }

    private void lexicon(String field, String name) {
        if (name == null || name.isBlank()) {
            throw invalid(field + ": required (a lexicon name, e.g. meanness)");
        }
        if (!LEXICON_NAME.matcher(name).matches()) {
            throw invalid(field + ": a lexicon name is 1-64 characters of [a-z0-9-], got '" + SafeText.of(name, 80) + "'");
        }
        try {
            LexiconScorer.load(lexiconFile(name));
        } catch (NoSuchFileException e) {
            throw invalid(field + ": no lexicon '" + name + "' (lexicons/" + name + ".txt under the policy directory)");
        } catch (IOException | IllegalArgumentException e) {
            throw invalid(field + ": lexicon '" + name + "' cannot be read: " + e.getMessage());
        }
    }

    Path lexiconFile(String name) {
        return policyDir.resolve("lexicons").resolve(name + ".txt");
    }

    /** The perplexity passages. */
    PromptSet perplexityTexts() throws IOException {
        return PromptSet.read(policyDir.resolve(config.perplexityTexts()));
    }

    private static ApiError invalid(String message) {
        return new ApiError(400, ErrorCode.INVALID_REQUEST, message);
    }
}
