package io.steergate.retraining;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.hibernate.orm.panache.PanacheQuery;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.panache.common.Page;
import io.steergate.engine.eval.PromptSet;
import io.steergate.intervention.InterventionRegistry;
import io.steergate.intervention.InterventionVersion;
import io.steergate.messages.SafeText;
import io.steergate.policy.Policy;
import io.steergate.policy.RetrainingTrigger;
import io.steergate.resilience.Failures;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Policy-triggered retraining (policies/README.md, "Retraining triggers"). {@link #sweep} evaluates each trigger of
 * the policies in force: under a row lock on the trigger's state row, so that of several gateway replicas one fires and
 * the others find the cool-down running; when the measured rate holds, it records the firing with its evidence, builds
 * a source prompt set from the intervention's base source set plus the violating outputs, and queues a job.
 * {@link #advance} then follows each open firing: the job's result, its promotion (or why its candidate will not be:
 * refused by the gate, retired, or overtaken by a later version), and the watch after it, which decides at the end of
 * its window and promotes the previous version back when the new one's rate is worse than the previous version's over
 * the trigger's window before the promotion.
 */
@ApplicationScoped
public class RetrainingTriggers {

    private static final Logger LOG = Logger.getLogger(RetrainingTriggers.class);
    /** Longest requestedBy a job stores (retraining_jobs.requested_by). */
    static final int MAX_REQUESTED_BY = 128;
    /** Characters of the intervention name kept in the prompt-set names a firing creates (names are at most 64). */
    private static final int NAME_PREFIX = 40;

    /** What one evaluation of a trigger found; the label is the metric's {@code outcome}. */
    public enum Outcome {
        FIRED, COOLING_DOWN, BELOW_MINIMUM, BELOW_THRESHOLD, FAILED;

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** A firing that cannot go on for a reason of its configuration or data, not of the moment: recorded, not retried. */
    static final class NotFireable extends RuntimeException {
        NotFireable(String message) {
            super(message);
        }
    }

    @Inject
    TriggerMeasure measure;

    @Inject
    RetrainingService jobs;

    @Inject
    PromptSetStore promptSets;

    @Inject
    InterventionRegistry registry;

    @Inject
    EntityManager em;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry metrics;

    /** The shipped base prompt sets lie in prompts/ under the policies directory. */
    @ConfigProperty(name = "steergate.policy.dir", defaultValue = "policies")
    Path policiesDir;

    /**
     * Evaluates every trigger of {@code policies} (the ones in force: the fallback policy's scope is computed against
     * them) once, each in its own transaction.
     *
     * @return the outcome of each trigger by {@code <policy>/<trigger>}
     * @throws RuntimeException a transient failure (the database away): the sweep tries again next period
     */
    public Map<String, Outcome> sweep(List<Policy> policies) {
        Map<String, Outcome> outcomes = new LinkedHashMap<>();
        for (Policy policy : policies) {
            TriggerMeasure.Scope scope = TriggerMeasure.Scope.of(policy, policies);
            for (RetrainingTrigger trigger : policy.retraining()) {
                Outcome outcome;
                try {
                    outcome = QuarkusTransaction.requiringNew().call(() -> evaluate(policy, trigger, scope, Instant.now()));
                } catch (RuntimeException e) {
                    if (Failures.isTransient(e)) {
                        throw e;
                    }
                    QuarkusTransaction.requiringNew().run(() -> recordFailure(policy, trigger, scope, e, Instant.now()));
                    outcome = Outcome.FAILED;
                }
                metrics.counter("steergate.retraining.triggers", "outcome", outcome.label()).increment();
                outcomes.put(policy.id() + "/" + trigger.name(), outcome);
            }
        }
        return outcomes;
    }

    /** One trigger, in the caller's transaction: holds its state row's lock until the transaction ends. */
    Outcome evaluate(Policy policy, RetrainingTrigger trigger, TriggerMeasure.Scope scope, Instant now) {
        Instant lastFired = lockState(policy.id(), trigger.name());
        if (lastFired != null && now.isBefore(lastFired.plus(trigger.coolDown()))) {
            return Outcome.COOLING_DOWN;
        }
        TriggerMeasure.Measurement found = measure.measure(trigger.intervention(), null, trigger.when(), scope,
                now.minus(trigger.when().window()), now);
        if (found.counted() < trigger.when().minCount()) {
            return Outcome.BELOW_MINIMUM;
        }
        if (found.rate() < trigger.when().atLeast()) {
            return Outcome.BELOW_THRESHOLD;
        }
        fire(policy, trigger, scope, found, now);
        setLastFired(policy.id(), trigger.name(), now);
        return Outcome.FIRED;
    }

    private void fire(Policy policy, RetrainingTrigger trigger, TriggerMeasure.Scope scope,
            TriggerMeasure.Measurement found, Instant now) {
        TriggerFiring firing = newFiring(policy, trigger, scope, evidence(trigger, found), now);
        firing.previousVersion = registry.activeVersion(trigger.intervention()).orElse(null);
        BaseSets base = baseSets(trigger.intervention());
        List<String> added = measure.outputs(found.violatingIds());
        Set<String> texts = new LinkedHashSet<>(promptSets.texts(base.source()));
        int before = texts.size();
        for (String output : added) {
            if (texts.size() >= PromptSetStore.MAX_PROMPTS) {
                break;
            }
            texts.add(output.length() > PromptSetStore.MAX_PROMPT_CHARS ? output.substring(0, PromptSetStore.MAX_PROMPT_CHARS) : output);
        }
        firing.sourceSet = prefix(trigger.intervention()) + "-trig-" + firing.id.toString().substring(0, 8) + "-source";
        firing.targetSet = base.target();
        promptSets.importSet(firing.sourceSet, jsonl(texts));

        RetrainingTrigger.Train train = trigger.train();
        String description = registry.get(trigger.intervention()).map(InterventionRegistry.InterventionSummary::description).orElse(null);
        RetrainingTrigger.Evaluation evaluation = train.evaluation();
        TrainingRequest request = new TrainingRequest(train.method(), firing.sourceSet, firing.targetSet, train.sites(),
                train.steps(), train.learningRate(), train.l1(), train.groupLasso(), train.seed(), null, description,
                trigger.promote() == RetrainingTrigger.Promote.AUTO, evaluation == null ? null : new EvaluationRequest(
                        evaluation.prompts(), evaluation.concept(), evaluation.desired(), evaluation.strength()),
                // no last-token pooling (a firing's sets are whole outputs, not cut before a choice), no token gates,
                // the default batch (a policy cannot set one)
                train.heldOut(), train.patience(), null, null, null);
        RetrainingJobSummary job = jobs.request(trigger.intervention(), request, requestedBy(policy, trigger));
        firing.jobId = job.id();
        firing.status = TriggerFiring.Status.QUEUED.name();
        firing.persist();
        step(firing, "fired", read(firing.evidenceJson), now);
        Map<String, Object> queued = new LinkedHashMap<>();
        queued.put("jobId", job.id().toString());
        queued.put("sourceSet", firing.sourceSet);
        queued.put("targetSet", firing.targetSet);
        queued.put("baseSource", base.source());
        queued.put("baseFrom", base.from());
        queued.put("violatingOutputsAdded", texts.size() - before);
        queued.put("promote", trigger.promote().name().toLowerCase(Locale.ROOT));
        step(firing, "queued", queued, now);
        LOG.infof("retraining trigger %s/%s fired: %d of %d outputs of %s violating (rate %.3f, at least %.3f, over %s);"
                + " job %s queued on %s (+%d outputs) and %s", policy.id(), trigger.name(), found.violating(),
                found.counted(), trigger.intervention(), found.rate(), trigger.when().atLeast(), trigger.when().window(),
                job.id(), firing.sourceSet, texts.size() - before, firing.targetSet);
    }

    /** The prompt sets a version of an intervention was trained on, by name, and where they were found. */
    record BaseSets(String source, String target, String from) {}

    /**
     * The intervention's base sets: the stored prompt sets whose hashes the active version's training-data provenance
     * names, else the shipped {@code prompts/<name>.source.jsonl} and {@code .target.jsonl} of the policies directory
     * (stored under content-named sets, so a later edit of the files makes new sets rather than a conflict).
     */
    BaseSets baseSets(String intervention) {
        Optional<InterventionVersion> active = InterventionVersion.active(intervention);
        if (active.isPresent() && active.get().trainingDataJson != null) {
            JsonNode data = read(active.get().trainingDataJson);
            Optional<String> source = promptSets.nameOf(data.path("source").asText(""));
            Optional<String> target = promptSets.nameOf(data.path("target").asText(""));
            if (source.isPresent() && target.isPresent()) {
                return new BaseSets(source.get(), target.get(), "provenance of version " + active.get().version);
            }
        }
        Path prompts = policiesDir.resolve("prompts");
        Path source = prompts.resolve(intervention + ".source.jsonl");
        Path target = prompts.resolve(intervention + ".target.jsonl");
        if (!Files.isRegularFile(source) || !Files.isRegularFile(target)) {
            throw new NotFireable("no base prompt sets for '" + intervention + "': the active version's training data are"
                    + " not stored as prompt sets and " + prompts + " has no " + intervention + ".source.jsonl and .target.jsonl");
        }
        return new BaseSets(importShipped(intervention, source, "source"), importShipped(intervention, target, "target"),
                prompts.toString());
    }

    private String importShipped(String intervention, Path file, String side) {
        String content;
        try {
            content = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new NotFireable("cannot read " + file + ": " + e.getMessage());
        }
        String sha = PromptSet.parse(file.getFileName().toString(), file.toString(), content).sha256();
        String name = prefix(intervention) + "-base-" + sha.substring(0, 8) + "-" + side;
        promptSets.importSet(name, content);
        return name;
    }

    /** Follows every open firing one step where it can, each in its own transaction. */
    public void advance() {
        List<UUID> open = QuarkusTransaction.requiringNew().call(() -> TriggerFiring.<TriggerFiring>list(
                "status in ?1 order by firedAt", TriggerFiring.Status.OPEN).stream().map(f -> f.id).toList());
        for (UUID id : open) {
            try {
                QuarkusTransaction.requiringNew().run(() -> advance(id, Instant.now()));
            } catch (RuntimeException e) {
                if (Failures.isTransient(e)) {
                    throw e;
                }
                // one firing that cannot move on must not hold up the others; it is tried again next sweep
                LOG.warnf("retraining trigger firing %s could not move on: %s", id, SafeText.of(Failures.rootMessage(e),
                        SafeText.REASON_CHARS));
            }
        }
    }

    /** Follows one firing as of {@code now}, in a transaction of its own (tests: a watch window's end without waiting). */
    void advanceAt(UUID id, Instant now) {
        QuarkusTransaction.requiringNew().run(() -> advance(id, now));
    }

    private void advance(UUID id, Instant now) {
        @SuppressWarnings("unchecked")
        List<TriggerFiring> locked = em.createNativeQuery("select * from retraining_trigger_firings where id = :id"
                + " and status in (:open) for update skip locked", TriggerFiring.class)
                .setParameter("id", id).setParameter("open", TriggerFiring.Status.OPEN).getResultList();
        if (locked.isEmpty()) {
            return; // another replica holds it, or it moved on
        }
        TriggerFiring firing = locked.get(0);
        if (firing.status.equals(TriggerFiring.Status.QUEUED.name())) {
            followJob(firing, now);
        }
        if (firing.status.equals(TriggerFiring.Status.AWAITING_PROMOTION.name())) {
            followPromotion(firing, now);
        }
        if (firing.status.equals(TriggerFiring.Status.WATCHING.name())) {
            watch(firing, now);
        }
    }

    private void followJob(TriggerFiring firing, Instant now) {
        RetrainingJob job = RetrainingJob.findById(firing.jobId);
        if (job.status.equals(RetrainingJob.Status.FAILED.name())) {
            firing.error = job.error;
            move(firing, TriggerFiring.Status.JOB_FAILED, "job-failed", Map.of("jobId", job.id.toString(),
                    "error", job.error == null ? "" : job.error), now);
        } else if (job.status.equals(RetrainingJob.Status.SUCCEEDED.name())) {
            firing.resultVersion = job.resultVersion;
            Map<String, Object> trained = new LinkedHashMap<>();
            trained.put("jobId", job.id.toString());
            trained.put("version", job.resultVersion);
            trained.put("gate", job.gate);
            move(firing, TriggerFiring.Status.AWAITING_PROMOTION, "trained", trained, now);
        }
    }

    private void followPromotion(TriggerFiring firing, Instant now) {
        InterventionVersion version = InterventionVersion.of(firing.intervention, firing.resultVersion).orElseThrow();
        Optional<InterventionVersion> active = InterventionVersion.active(firing.intervention);
        if (version.status.equals(InterventionVersion.Status.active.name())) {
            firing.promotedAt = version.statusChangedAt;
            RetrainingTrigger.Watch watch = trigger(firing).watch();
            if (watch == null) {
                move(firing, TriggerFiring.Status.PROMOTED, "promoted", Map.of("version", firing.resultVersion), now);
            } else {
                Map<String, Object> detail = new LinkedHashMap<>();
                detail.put("version", firing.resultVersion);
                detail.put("previousVersion", firing.previousVersion);
                detail.put("window", watch.window().toString());
                detail.put("minOutputs", watch.minOutputs());
                detail.put("decidesAt", firing.promotedAt.plus(watch.window()).toString());
                move(firing, TriggerFiring.Status.WATCHING, "watch-started", detail, now);
            }
            return;
        }
        // a candidate nobody will promote ends the firing, with the reason; under 'promote: approval' an operator may
        // still promote it by hand (overriding the gate), but no watch follows that promotion
        String reason = null;
        Integer latest = latestVersion(firing.intervention);
        if (version.status.equals(InterventionVersion.Status.retired.name())) {
            reason = "retired";
        } else if (InterventionVersion.GATE_REFUSED.equals(version.gate)) {
            reason = "the evaluation gate refused it (GET /v1/retraining-jobs/" + firing.jobId + " has the report)";
        } else if (active.isPresent() && active.get().version > firing.resultVersion) {
            reason = "version " + active.get().version + " was promoted instead";
        } else if (latest != null && latest > firing.resultVersion) {
            reason = "overtaken by version " + latest + ", a later candidate";
        }
        if (reason != null) {
            move(firing, TriggerFiring.Status.NOT_PROMOTED, "not-promoted", Map.of("version", firing.resultVersion,
                    "reason", reason), now);
        }
    }

    private Integer latestVersion(String intervention) {
        return em.createQuery("select max(v.version) from InterventionVersion v where v.name = :name", Integer.class)
                .setParameter("name", intervention).getSingleResult();
    }

    private void watch(TriggerFiring firing, Instant now) {
        RetrainingTrigger trigger = trigger(firing);
        RetrainingTrigger.Watch watch = trigger.watch();
        Optional<Integer> active = registry.activeVersion(firing.intervention);
        if (!active.equals(Optional.of(firing.resultVersion))) {
            move(firing, TriggerFiring.Status.INCONCLUSIVE, "superseded", Map.of("version", firing.resultVersion,
                    "activeVersion", active.map(Object::toString).orElse("none")), now);
            return;
        }
        // decided once the window is over, on every output of it: an early look at the first minOutputs would judge the
        // version on whichever outputs (and reviews) happened to come first
        Instant end = firing.promotedAt.plus(watch.window());
        if (now.isBefore(end)) {
            return;
        }
        TriggerMeasure.Scope scope = read(firing.scopeJson, TriggerMeasure.Scope.class);
        TriggerMeasure.Measurement found = measure.measure(firing.intervention, firing.resultVersion, trigger.when(),
                scope, firing.promotedAt, end);
        // the baseline: the previous version over the trigger's own window before the promotion, measured the same way;
        // when it has fewer than minOutputs there, the rate that fired the trigger (over every version) stands in
        TriggerMeasure.Measurement previous = firing.previousVersion == null ? null : measure.measure(firing.intervention,
                firing.previousVersion, trigger.when(), scope, firing.promotedAt.minus(trigger.when().window()), firing.promotedAt);
        boolean previousMeasured = previous != null && previous.counted() >= watch.minOutputs();
        double previousRate = previousMeasured ? previous.rate() : read(firing.evidenceJson).path("rate").asDouble();
        String baseline = previousMeasured ? String.format(Locale.ROOT, "version %d's rate (%d of %d) over the trigger's"
                + " window of %s before the promotion", firing.previousVersion, previous.violating(), previous.counted(),
                trigger.when().window()) : "the rate that fired the trigger (" + (previous == null
                ? "no version was active before" : "version " + firing.previousVersion + " had " + previous.counted()
                + " outputs counted before the promotion, fewer than minOutputs") + ")";
        Map<String, Object> detail = new LinkedHashMap<>();
        detail.put("version", firing.resultVersion);
        detail.put("counted", found.counted());
        detail.put("violating", found.violating());
        detail.put("rate", found.rate());
        detail.put("previousVersion", firing.previousVersion);
        detail.put("previousRate", previousRate);
        detail.put("previousCounted", previous == null ? null : previous.counted());
        detail.put("previousViolating", previous == null ? null : previous.violating());
        detail.put("baseline", baseline);
        detail.put("minOutputs", watch.minOutputs());
        detail.put("from", found.from().toString());
        detail.put("to", found.to().toString());
        if (found.counted() < watch.minOutputs()) {
            watched(firing, TriggerFiring.Status.INCONCLUSIVE, "watch-inconclusive", detail, now);
        } else if (found.rate() <= previousRate) {
            watched(firing, TriggerFiring.Status.PASSED, "watch-passed", detail, now);
        } else {
            rollBack(firing, found, previousRate, baseline, detail, now);
        }
    }

    private void rollBack(TriggerFiring firing, TriggerMeasure.Measurement found, double previousRate, String baseline,
            Map<String, Object> detail, Instant now) {
        String reason = String.format(Locale.ROOT, "violation rate %.4f (%d of %d) of version %d is worse than %.4f, %s",
                found.rate(), found.violating(), found.counted(), firing.resultVersion, previousRate, baseline);
        Optional<InterventionVersion> previous = firing.previousVersion == null ? Optional.empty()
                : InterventionVersion.of(firing.intervention, firing.previousVersion);
        // each of these ends the watch: a promote of a REFUSED version answers 409 without an operator's override, so
        // trying again at every sweep could never succeed (watch() has already ended it if another version is active)
        String impossible = previous.isEmpty() ? "no previous version to restore (none was active), so the new one stays"
                : previous.get().status.equals(InterventionVersion.Status.retired.name())
                        ? "no previous version to restore (version " + firing.previousVersion + " is retired), so the new one stays"
                : InterventionVersion.GATE_REFUSED.equals(previous.get().gate)
                        ? "version " + firing.previousVersion + " was refused by its evaluation gate, which only an operator"
                                + " may override, so the new one stays"
                : null;
        if (impossible != null) {
            detail.put("reason", reason + "; " + impossible);
            watched(firing, TriggerFiring.Status.INCONCLUSIVE, "rollback-impossible", detail, now);
            return;
        }
        registry.promote(firing.intervention, firing.previousVersion);
        detail.put("reason", reason);
        detail.put("restoredVersion", firing.previousVersion);
        watched(firing, TriggerFiring.Status.ROLLED_BACK, "rolled-back", detail, now);
    }

    private void watched(TriggerFiring firing, TriggerFiring.Status status, String step, Map<String, Object> detail, Instant now) {
        move(firing, status, step, detail, now);
        metrics.counter("steergate.retraining.trigger.watches", "outcome", step).increment();
        LOG.infof("retraining trigger %s/%s: %s %s version %d: %s", firing.policyId, firing.triggerName, step,
                firing.intervention, firing.resultVersion, detail);
    }

    private void recordFailure(Policy policy, RetrainingTrigger trigger, TriggerMeasure.Scope scope, RuntimeException e,
            Instant now) {
        lockState(policy.id(), trigger.name());
        String reason = SafeText.of(Failures.rootMessage(e), SafeText.REASON_CHARS);
        TriggerFiring firing = newFiring(policy, trigger, scope, Map.of("error", reason), now);
        firing.status = TriggerFiring.Status.FAILED.name();
        firing.error = reason;
        firing.persist();
        step(firing, "failed", Map.of("error", reason), now);
        // the cool-down spaces the next try: a trigger that cannot fire would otherwise fail every sweep
        setLastFired(policy.id(), trigger.name(), now);
        LOG.warnf("retraining trigger %s/%s could not fire, next try after its cool-down of %s: %s", policy.id(),
                trigger.name(), trigger.coolDown(), reason);
    }

    private TriggerFiring newFiring(Policy policy, RetrainingTrigger trigger, TriggerMeasure.Scope scope,
            Object evidence, Instant now) {
        TriggerFiring firing = new TriggerFiring();
        firing.id = UUID.randomUUID();
        firing.policyId = policy.id();
        firing.policyVersion = policy.version();
        firing.triggerName = trigger.name();
        firing.intervention = trigger.intervention();
        firing.triggerJson = write(trigger);
        firing.scopeJson = write(scope);
        firing.evidenceJson = write(evidence);
        firing.firedAt = now;
        firing.updatedAt = now;
        return firing;
    }

    private static Map<String, Object> evidence(RetrainingTrigger trigger, TriggerMeasure.Measurement found) {
        Map<String, Object> evidence = new LinkedHashMap<>();
        evidence.put("measure", trigger.when().kind().name().toLowerCase(Locale.ROOT));
        if (trigger.when().kind() == RetrainingTrigger.Kind.REVIEWS) {
            evidence.put("verdict", trigger.when().verdict());
        } else {
            evidence.put("scorer", trigger.when().scorer());
            evidence.put("above", trigger.when().above());
        }
        evidence.put("counted", found.counted());
        evidence.put("violating", found.violating());
        evidence.put("rate", found.rate());
        evidence.put("atLeast", trigger.when().atLeast());
        evidence.put("minCount", trigger.when().minCount());
        evidence.put("window", trigger.when().window().toString());
        evidence.put("from", found.from().toString());
        evidence.put("to", found.to().toString());
        evidence.put("violatingRecordIds", found.violatingIds());
        evidence.put("violatingRecordIdsTruncated", found.violating() > found.violatingIds().size());
        return evidence;
    }

    private void move(TriggerFiring firing, TriggerFiring.Status status, String step, Object detail, Instant now) {
        firing.status = status.name();
        firing.updatedAt = now;
        step(firing, step, detail, now);
    }

    private void step(TriggerFiring firing, String name, Object detail, Instant now) {
        TriggerStep step = new TriggerStep();
        step.firingId = firing.id;
        step.step = name;
        step.detailJson = write(detail);
        step.recordedAt = now;
        step.persist();
    }

    /** Creates the trigger's state row if missing and locks it; its last firing time. */
    private Instant lockState(String policyId, String trigger) {
        em.createNativeQuery("insert into retraining_trigger_state (policy_id, trigger_name) values (:policy, :trigger)"
                + " on conflict do nothing").setParameter("policy", policyId).setParameter("trigger", trigger).executeUpdate();
        Object last = em.createNativeQuery("select last_fired_at from retraining_trigger_state where policy_id = :policy"
                + " and trigger_name = :trigger for update").setParameter("policy", policyId).setParameter("trigger", trigger)
                .getSingleResult();
        return instant(last);
    }

    private void setLastFired(String policyId, String trigger, Instant when) {
        em.createNativeQuery("update retraining_trigger_state set last_fired_at = :when where policy_id = :policy"
                + " and trigger_name = :trigger").setParameter("when", when).setParameter("policy", policyId)
                .setParameter("trigger", trigger).executeUpdate();
    }

    private static Instant instant(Object value) {
        if (value == null || value instanceof Instant) {
            return (Instant) value;
        }
        if (value instanceof OffsetDateTime time) {
            return time.toInstant();
        }
        if (value instanceof java.sql.Timestamp time) {
            return time.toInstant();
        }
        throw new IllegalStateException("retraining_trigger_state.last_fired_at read as " + value.getClass().getName());
    }

    private static String requestedBy(Policy policy, RetrainingTrigger trigger) {
        String by = "trigger:" + policy.id() + "/" + trigger.name();
        return by.length() > MAX_REQUESTED_BY ? by.substring(0, MAX_REQUESTED_BY) : by;
    }

    static String prefix(String intervention) {
        return intervention.length() > NAME_PREFIX ? intervention.substring(0, NAME_PREFIX) : intervention;
    }

    /**
     * The newest {@code limit} firings the caller sees, newest first, with their steps; only those of one policy or
     * intervention when given. Without a tenant scope (an operator) the database applies the limit. A reviewer sees
     * the firings whose measured tenants it holds, which only the scope's JSON tells, so its firings are read in
     * pages of {@code limit} until {@code limit} visible ones are found or the rows run out.
     */
    public List<TriggerFiringView> list(String policyId, String intervention, Optional<Set<String>> tenantScope, int limit) {
        StringBuilder query = new StringBuilder("1 = 1");
        Map<String, Object> params = new LinkedHashMap<>();
        if (policyId != null && !policyId.isBlank()) {
            query.append(" and policyId = :policy");
            params.put("policy", policyId);
        }
        if (intervention != null && !intervention.isBlank()) {
            query.append(" and intervention = :intervention");
            params.put("intervention", intervention);
        }
        query.append(" order by firedAt desc, id desc");
        PanacheQuery<TriggerFiring> firings = TriggerFiring.<TriggerFiring>find(query.toString(), params)
                .page(Page.ofSize(limit));
        if (tenantScope.isEmpty()) {
            return firings.list().stream().map(this::view).toList();
        }
        List<TriggerFiringView> views = new ArrayList<>();
        // a firing recorded while we page shifts the older ones one row on, so one may come again on the next page
        Set<UUID> read = new HashSet<>();
        while (views.size() < limit) {
            List<TriggerFiring> page = firings.list();
            if (page.isEmpty()) {
                break;
            }
            for (TriggerFiring firing : page) {
                if (views.size() < limit && read.add(firing.id) && visible(firing, tenantScope)) {
                    views.add(view(firing));
                }
            }
            firings.nextPage();
        }
        return views;
    }

    /** One firing with its steps, if the caller's tenants cover what it measured. */
    public Optional<TriggerFiringView> get(UUID id, Optional<Set<String>> tenantScope) {
        return TriggerFiring.<TriggerFiring>findByIdOptional(id).filter(f -> visible(f, tenantScope)).map(this::view);
    }

    private boolean visible(TriggerFiring firing, Optional<Set<String>> tenantScope) {
        return tenantScope.isEmpty() || read(firing.scopeJson, TriggerMeasure.Scope.class).within(tenantScope.get());
    }

    private TriggerFiringView view(TriggerFiring f) {
        List<TriggerFiringView.Step> steps = TriggerStep.<TriggerStep>list("firingId = ?1 order by id", f.id).stream()
                .map(s -> new TriggerFiringView.Step(s.step, read(s.detailJson), s.recordedAt)).toList();
        return new TriggerFiringView(f.id, f.policyId, f.policyVersion, f.triggerName, f.intervention, f.status,
                read(f.triggerJson), read(f.scopeJson), read(f.evidenceJson), f.previousVersion, f.sourceSet, f.targetSet,
                f.jobId, f.resultVersion, f.promotedAt, f.error, f.firedAt, f.updatedAt, steps);
    }

    RetrainingTrigger trigger(TriggerFiring firing) {
        return read(firing.triggerJson, RetrainingTrigger.class);
    }

    private String jsonl(Iterable<String> texts) {
        StringBuilder out = new StringBuilder();
        for (String text : texts) {
            out.append(write(Map.of("text", text))).append('\n');
        }
        return out.toString();
    }

    JsonNode read(String text) {
        return read(text, JsonNode.class);
    }

    private <T> T read(String text, Class<T> type) {
        try {
            return json.readValue(text, type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a retraining_trigger_firings JSON column holds invalid JSON", e);
        }
    }

    private String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("trigger records always serialise as JSON", e);
        }
    }
}
