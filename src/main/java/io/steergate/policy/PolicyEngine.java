package io.steergate.policy;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.steergate.engine.eval.LexiconScorer;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.GenerationRequest;
import io.steergate.messages.PolicyRef;
import io.steergate.messages.ProbeRequest;
import io.steergate.role.ProcessRoles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Decides the plan for each request with the tenant's policy from policies/ ({@link PolicyStore},
 * {@link PolicyEvaluator}) against the intervention registry ({@link InterventionCatalog}), and scores outputs with
 * the policy's scorers. Reloads policies/ every few seconds: a changed file takes effect for new requests, a broken
 * one is refused (logged once, counted in {@code steergate.policy.refused.files}) and its previous version stays.
 */
@ApplicationScoped
public class PolicyEngine {

    private static final Logger LOG = Logger.getLogger(PolicyEngine.class);

    static final String BUILT_IN_DEFAULT = """
            id: default
            description: Built-in fallback when the policies directory is missing; covers every tenant, applies nothing.
            tenants: ['*']
            explicitSteering: drop
            disallowedStyles: drop
            """;

    @Inject
    InterventionCatalog catalog;

    @Inject
    MeterRegistry metrics;

    @ConfigProperty(name = "steergate.policy.dir", defaultValue = "policies")
    Path dir;

    /** default-policy: tenants no policy names get the policy whose tenants are '*'; reject: they are REJECTED. */
    @ConfigProperty(name = "steergate.policy.uncovered-tenants", defaultValue = "default-policy")
    String uncoveredTenants;

    @ConfigProperty(name = "steergate.policy.reload-seconds", defaultValue = "2")
    int reloadSeconds;

    @Inject
    ProcessRoles roles;

    @Inject
    Instance<InterventionImport> interventionImports;

    private volatile PolicyStore store;
    private volatile Policy builtIn;
    private volatile String lastRefusals = "";
    /** The files last reported as refused only until the intervention import under way registers what they name. */
    private volatile Set<String> awaitingImport = Set.of();
    /** Settled unless the application runs an import at start (CDI: {@link #start}). */
    private InterventionImport interventionImport = () -> true;
    final AtomicInteger refusedFiles = new AtomicInteger();
    private final Map<Path, LexiconScorer> scorers = new ConcurrentHashMap<>();
    /**
     * The policy_versions table (CDI: {@link #start}, {@link DatabaseVersions}); for an engine of plain tests, a table
     * that stays empty unless the test gives one.
     */
    interface RecordedVersions {
        /** The row of a version, if recorded. */
        Optional<PolicyVersionRecord> find(PolicyRef ref);

        /** Records a version read from {@code content}; a version recorded already is left as it is. */
        void insert(Policy policy, byte[] content);
    }

    private RecordedVersions recordedVersions = new RecordedVersions() {
        @Override
        public Optional<PolicyVersionRecord> find(PolicyRef ref) {
            return Optional.empty();
        }

        @Override
        public void insert(Policy policy, byte[] content) {}
    };
    /**
     * Versions put in force here whose record in policy_versions is still to be written, each with whether a failed
     * write was logged already (one line per version, not one per reload, while the database is away).
     */
    private final Map<Policy, Boolean> unrecorded = new ConcurrentHashMap<>();
    /** Recorded policy versions not in force here that results were judged by (few: one per rollout's change). */
    private final Map<PolicyRef, Policy> recorded = new ConcurrentHashMap<>();
    private ScheduledExecutorService reloader;
    /** Set once the policies are read against a reachable registry (or there is nothing to read): decisions may start. */
    private volatile boolean loaded;

    /** For CDI; the store is built at start from the configuration. */
    PolicyEngine() {}

    /** An engine over {@code store} (null: the built-in default policy only), for tests of the plain logic. */
    PolicyEngine(PolicyStore store, InterventionCatalog catalog) {
        this.store = store;
        this.catalog = catalog;
        this.builtIn = store == null ? builtInDefault() : null;
    }

    /** As {@link #PolicyEngine(PolicyStore, InterventionCatalog)}, with an intervention import under way at start. */
    PolicyEngine(PolicyStore store, InterventionCatalog catalog, InterventionImport interventionImport) {
        this(store, catalog);
        this.interventionImport = interventionImport;
    }

    private static Policy builtInDefault() {
        return new PolicyParser(Path.of("."), InterventionCatalog.empty())
                .parse("default.yaml", BUILT_IN_DEFAULT.getBytes(StandardCharsets.UTF_8)).policy();
    }

    void start(@Observes StartupEvent event) throws IOException {
        if (!roles.gateway()) {
            loaded = true;
            return;
        }
        metrics.gauge("steergate.policy.refused.files", refusedFiles);
        if (interventionImports.isResolvable()) {
            interventionImport = interventionImports.get();
        }
        if (!Files.isDirectory(dir)) {
            LOG.warnf("no policies directory at %s: every tenant gets the built-in default policy (applies nothing)", dir.toAbsolutePath());
            builtIn = builtInDefault();
            loaded = true;
            return;
        }
        PolicyStore.UncoveredTenants uncovered = "reject".equals(uncoveredTenants)
                ? PolicyStore.UncoveredTenants.REJECT : PolicyStore.UncoveredTenants.DEFAULT_POLICY;
        recordedVersions = new DatabaseVersions();
        store = new PolicyStore(dir, catalog, uncovered);
        reload(true);
        reloader = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "policy-reload");
            thread.setDaemon(true);
            return thread;
        });
        // until a first reload succeeds every reload is a full one
        reloader.scheduleWithFixedDelay(() -> reload(!loaded), reloadSeconds, reloadSeconds, TimeUnit.SECONDS);
    }

    void stop(@Observes ShutdownEvent event) {
        if (reloader != null) {
            reloader.shutdownNow();
        }
    }

    /** True once the policies have been read against a reachable registry: before that, no decision may be taken. */
    public boolean loaded() {
        return loaded;
    }

    /**
     * The decision for {@code request}: a plan or a rejection (see {@link PolicyEvaluator#evaluate}); a tenant no
     * policy covers is rejected with POLICY_DENIED and a null policy ref.
     */
    public Decision decide(GenerationRequest request) {
        Optional<Policy> policy = store == null ? Optional.ofNullable(builtIn) : store.policyFor(request.tenant());
        if (policy.isEmpty()) {
            String message = "no policy covers tenant '" + request.tenant() + "'";
            return Decision.rejected(null, ErrorInfo.of(ErrorCode.POLICY_DENIED, message), List.of("rejected: " + message));
        }
        return PolicyEvaluator.evaluate(policy.get(), request, catalog);
    }

    /**
     * The policy's scorers applied to an output, scorer name to score in the policy's order: a lexicon scorer's share
     * of words hit, a probe scorer's probability as the worker computed it ({@code probeScores}, by name; a probe the
     * worker did not score, or scored outside [0, 1], has no score and flags nothing). Empty without scorers.
     */
    public Map<String, Double> score(PolicyRef ref, String text, Map<String, Double> probeScores) {
        if (ref == null || text == null || store == null) {
            return Map.of();
        }
        Optional<Policy> policy = policyOf(ref);
        if (policy.isEmpty()) {
            return Map.of();
        }
        Map<String, Double> scores = new LinkedHashMap<>();
        for (Policy.ScorerSpec spec : policy.get().scorers()) {
            if (!spec.isProbe()) {
                scores.put(spec.name(), scorer(dir.resolve(spec.lexicon())).score(text));
                continue;
            }
            Double probability = probeScores == null ? null : probeScores.get(spec.name());
            if (probability != null && probability >= 0 && probability <= 1) {
                scores.put(spec.name(), probability);
            }
        }
        return scores;
    }

    /**
     * The probe scorers a job under {@code ref} asks its worker to evaluate: those of the policy in force under its id,
     * as that policy read their training sets. Empty when it has none.
     */
    public List<ProbeRequest> probes(PolicyRef ref) {
        if (ref == null || store == null) {
            return List.of();
        }
        return policyOf(ref).map(policy -> policy.scorers().stream().filter(Policy.ScorerSpec::isProbe)
                .map(spec -> new ProbeRequest(spec.name(), spec.probe().intervention(), spec.probe().site(),
                        spec.probe().sourceSha256(), spec.probe().targetSha256()))
                .toList()).orElse(List.of());
    }

    /**
     * The names of the policy's scorers whose score in {@code scores} is at or above their threshold, in the policy's
     * order; empty when none is, or the policy is no longer in force (it is judged by the thresholds in force now).
     */
    public List<String> flagged(PolicyRef ref, Map<String, Double> scores) {
        if (ref == null || scores == null || store == null) {
            return List.of();
        }
        return policyOf(ref).map(policy -> policy.scorers().stream()
                .filter(spec -> spec.flags(scores.get(spec.name())))
                .map(Policy.ScorerSpec::name)
                .toList()).orElse(List.of());
    }

    /**
     * The escalation ladder of the policy in force under {@code ref}'s id ({@link Policy.Escalation#NONE} when none
     * is): like {@link #flagged}, a flagged output is handled by the rules in force now.
     */
    public Policy.Escalation escalation(PolicyRef ref) {
        if (ref == null || store == null) {
            return Policy.Escalation.NONE;
        }
        return policyOf(ref).map(Policy::escalation).orElse(Policy.Escalation.NONE);
    }

    /**
     * Whether an output under {@code ref} may not reach its client as generated: the policy in force may generate it
     * again (an escalation ladder) or withhold it (onFailure withhold with a scorer that can flag it). A stream under
     * such a policy is held until the outcome is known; under any other it is sent token by token.
     */
    public boolean mayHoldBack(PolicyRef ref) {
        if (ref == null || store == null) {
            return false;
        }
        return policyOf(ref).map(policy -> !policy.escalation().rungs().isEmpty()
                || (policy.escalation().onFailure() == Policy.OnFailure.WITHHOLD && !policy.scorers().isEmpty())).orElse(false);
    }

    /**
     * The decision for escalation attempt {@code attempt} of {@code request} (rung {@code attempt} of the ladder of
     * the policy in force under {@code ref}'s id, see {@link PolicyEvaluator#evaluate(Policy, GenerationRequest,
     * InterventionCatalog, int)}), pinned to the registry's active versions now; empty when that ladder has no such rung.
     */
    public Optional<Decision> escalate(GenerationRequest request, PolicyRef ref, int attempt) {
        if (ref == null || store == null) {
            return Optional.empty();
        }
        return policyOf(ref).filter(policy -> policy.escalation().rung(attempt).isPresent())
                .map(policy -> PolicyEvaluator.evaluate(policy, request, catalog, attempt));
    }

    /** The policies in force. */
    public List<Policy> policies() {
        return store == null ? (builtIn == null ? List.of() : List.of(builtIn)) : store.policies();
    }

    /**
     * Whether a policy in force names {@code intervention}. Metric series are labelled with such names only (others
     * as "other"): a request's explicit asks and uploads may name anything, and every label value is a series kept
     * for the life of the process.
     */
    public boolean names(String intervention) {
        return policies().stream().anyMatch(policy -> policy.interventions().contains(intervention));
    }

    public Optional<Policy> policy(String id) {
        return policies().stream().filter(p -> p.id().equals(id)).findFirst();
    }

    /**
     * The policy a job was planned under, to judge its output by: the one in force here under its id (its rules as
     * they are now), else the version the job names as recorded in policy_versions, read with this gateway's lexicons.
     * Another gateway may have planned the job under a policy this one does not hold: during a rollout that adds or
     * removes a policy file, results are consumed by whichever gateway holds their partition. Empty when neither is
     * found: then the output cannot be judged (see {@link #known}).
     */
    public Optional<Policy> policyOf(PolicyRef ref) {
        Optional<Policy> inForce = store == null ? Optional.empty() : store.policy(ref.id());
        if (inForce.isPresent()) {
            return inForce;
        }
        Policy cached = recorded.get(ref);
        if (cached != null) {
            return Optional.of(cached);
        }
        Optional<Policy> read = recordedVersions.find(ref)
                .map(record -> new PolicyParser(dir, catalog).parse(record.file, record.content.getBytes(StandardCharsets.UTF_8)))
                .filter(result -> {
                    if (!result.ok()) {
                        LOG.warnf("policy %s %s is recorded but does not read here: %s", ref.id(), ref.version(), result.errors());
                    }
                    return result.ok() && result.version().equals(ref.version());
                })
                .map(PolicyParser.Result::policy);
        if (read.isPresent()) {
            // only what was found is kept: a version not recorded yet may be by the time the next result comes
            recorded.put(ref, read.get());
            LOG.infof("policy %s %s is not in force here: outputs under it are judged by its recorded text", ref.id(), ref.version());
        }
        return read;
    }

    /** Whether an output under {@code ref} can be judged here (see {@link #policyOf}); true without a policy store. */
    public boolean known(PolicyRef ref) {
        return ref == null || store == null || policyOf(ref).isPresent();
    }

    /** Checks a policy file without putting it in force. */
    public PolicyParser.Result validate(String fileName, byte[] content) {
        return store == null ? new PolicyParser(dir, catalog).parse(fileName, content) : store.validate(fileName, content);
    }

    /** Re-reads every file now (POST /v1/policies/reload); the report says what came into force and what was refused. */
    public PolicyStore.ReloadReport reloadNow() throws IOException {
        if (store == null) {
            return new PolicyStore.ReloadReport(false, List.of(), List.of(), List.of(), List.of());
        }
        synchronized (this) {
            PolicyStore.ReloadReport report = store.reload();
            refusedFiles.set(report.refused().size());
            recordAccepted(report);
            return report;
        }
    }

    /**
     * A full reload re-checks every file against the registry, so a policy refused for an intervention that did not
     * exist yet (the demo interventions are imported after start) comes into force once it does; otherwise only
     * changed files are read.
     */
    synchronized void reload(boolean first) {
        try {
            PolicyStore.ReloadReport report = first || refusedFiles.get() > 0 ? store.reload() : store.reloadIfChanged();
            refusedFiles.set(report.refused().size());
            String refusals = report.refused().toString();
            boolean importing = !interventionImport.settled();
            if (!refusals.equals(lastRefusals) || (!awaitingImport.isEmpty() && !importing)) {
                logRefusals(report.refused(), importing);
                lastRefusals = refusals;
            }
            recordAccepted(report);
            loaded = true;
        } catch (IOException | RuntimeException e) {
            // caught whatever it is: an exception escaping a scheduled task would cancel every later reload
            LOG.warnf("reloading policies from %s failed, the policies in force stay: %s", dir, e.getMessage());
        }
    }

    /**
     * Warns of each refused file. While the intervention import of the first start is under way, a file refused only
     * for naming interventions not registered yet is expected to come into force once the import is in (the start-up
     * gate keeps decisions waiting meanwhile): it is reported once at INFO, and warned of as any other refusal if it is
     * still refused after the import has settled.
     */
    private void logRefusals(List<PolicyStore.Refusal> refused, boolean importing) {
        List<String> waiting = new ArrayList<>();
        for (PolicyStore.Refusal refusal : refused) {
            if (importing && refusal.errors().stream().allMatch(PolicyParser::namesUnknownIntervention)) {
                waiting.add(refusal.file());
                continue;
            }
            LOG.warnf("policy file %s refused (%s in force): %s", refusal.file(),
                    refusal.keptVersion() == null ? "nothing" : "version " + refusal.keptVersion(), refusal.errors());
        }
        List<String> newlyWaiting = waiting.stream().filter(file -> !awaitingImport.contains(file)).toList();
        if (!newlyWaiting.isEmpty()) {
            LOG.infof("policy files %s wait for the intervention import under way: refused until the interventions"
                    + " they name are registered", newlyWaiting);
        }
        awaitingImport = Set.copyOf(waiting);
    }

    /**
     * Records in PostgreSQL each policy version a reload put in force. Other gateways judge outputs planned under a
     * version they do not hold by this record ({@link #policyOf}), so one that could not be written (database away)
     * is tried again at every reload until it is.
     */
    private void recordAccepted(PolicyStore.ReloadReport report) {
        for (String file : report.accepted()) {
            store.policies().stream().filter(p -> p.source().equals(file)).findFirst().ifPresent(p -> unrecorded.put(p, false));
        }
        if (!report.accepted().isEmpty()) {
            metrics.counter("steergate.policy.reloads").increment();
        }
        // a version no longer in force (changed again, or removed) is recorded by its successor's turn, or not needed
        unrecorded.keySet().removeIf(policy -> !store.policy(policy.id()).map(p -> p.version().equals(policy.version()))
                .orElse(false) || recordVersion(policy));
    }

    /** Whether the version is recorded now, or need not be (its file changed again since it was read). */
    private boolean recordVersion(Policy policy) {
        try {
            byte[] content = Files.readAllBytes(store.directory().resolve(policy.source()));
            if (!policy.version().equals("sha256:" + PolicyParser.sha256(content))) {
                return true; // changed again since it was read: the next reload records that version
            }
            recordedVersions.insert(policy, content);
            LOG.infof("policy %s %s in force (%s, %d rules, tenants %s)", policy.id(), policy.version(), policy.source(),
                    policy.rules().size(), policy.tenants());
            return true;
        } catch (IOException | RuntimeException e) {
            if (!Boolean.TRUE.equals(unrecorded.replace(policy, true))) {
                LOG.warnf("could not record policy %s version %s, trying again at every reload: %s", policy.id(),
                        policy.version(), e.getMessage());
            }
            return false;
        }
    }

    /** For tests of the plain logic: the policy_versions table this engine reads and writes. */
    void recordedVersions(RecordedVersions versions) {
        this.recordedVersions = versions;
    }

    /** policy_versions in PostgreSQL. */
    private static final class DatabaseVersions implements RecordedVersions {
        @Override
        public Optional<PolicyVersionRecord> find(PolicyRef ref) {
            return QuarkusTransaction.joiningExisting().call(() -> PolicyVersionRecord
                    .<PolicyVersionRecord>find("policyId = ?1 and version = ?2", ref.id(), ref.version()).firstResultOptional());
        }

        @Override
        public void insert(Policy policy, byte[] content) {
            // several gateways start together: the first insert wins and the others find it there
            QuarkusTransaction.requiringNew().run(() -> PolicyVersionRecord.getEntityManager().createNativeQuery(
                            "insert into policy_versions (policy_id, version, file, content, first_loaded_at)"
                                    + " values (?1, ?2, ?3, ?4, ?5) on conflict (policy_id, version) do nothing")
                    .setParameter(1, policy.id()).setParameter(2, policy.version()).setParameter(3, policy.source())
                    .setParameter(4, new String(content, StandardCharsets.UTF_8)).setParameter(5, Instant.now())
                    .executeUpdate());
        }
    }

    private LexiconScorer scorer(Path lexicon) {
        return scorers.computeIfAbsent(lexicon, path -> {
            try {
                return LexiconScorer.load(path);
            } catch (IOException e) {
                throw new IllegalStateException("lexicon " + path + " cannot be read: " + e.getMessage(), e);
            }
        });
    }
}
