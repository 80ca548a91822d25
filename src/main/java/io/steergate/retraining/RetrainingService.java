package io.steergate.retraining;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.hibernate.orm.panache.PanacheQuery;
import io.quarkus.panache.common.Page;
import io.steergate.engine.steering.SiteSpec;
import io.steergate.engine.training.InterventionMethod;
import io.steergate.engine.training.InterventionMethods;
import io.steergate.engine.training.TokenGates;
import io.steergate.engine.training.TrainingSettings;
import io.steergate.intervention.InterventionRegistry;
import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.RetrainingRequest;
import io.steergate.outbox.Outbox;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.persistence.LockModeType;
import jakarta.transaction.Transactional;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.jboss.logging.Logger;

/**
 * Retraining jobs in PostgreSQL: {@link #request} validates and queues a job together with its steer.retraining
 * outbox record; the trainer moves it through RUNNING to SUCCEEDED or FAILED ({@link #claim}, {@link #heartbeat},
 * {@link #succeed}, {@link #fail}), each step one transaction. {@link #recover} re-queues jobs whose record was lost
 * or whose trainer died, and gives up on a job that has used its attempts.
 */
@ApplicationScoped
public class RetrainingService {

    private static final Logger LOG = Logger.getLogger(RetrainingService.class);
    /** Jobs one sweep handles at most; the next sweep takes the rest. */
    static final int SWEEP_BATCH = 100;

    @Inject
    InterventionRegistry registry;

    @Inject
    PromptSetStore promptSets;

    @Inject
    GateSpecs gateSpecs;

    @Inject
    Outbox outbox;

    @Inject
    RetrainingConfig config;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry metrics;

    /**
     * Queues a training of intervention {@code name}: the job row (QUEUED) and its steer.retraining record (key: the
     * name, value: {@link RetrainingRequest}) are written in one transaction.
     *
     * The job's evaluation is the request's or the intervention's default ({@link GateSpecs}); {@code promote} needs
     * one, since only a candidate the gate passes is promoted.
     *
     * @throws ApiError 400 naming the field (name, description, method, source, target, sites, steps, learningRate, l1,
     *     groupLasso, heldOut, patience, pooling, tokenGates, batchSize, kind, evaluation.*, promote), 404 for an
     *     unknown prompt set, 409 for a kind other than the intervention's, or when no worker has registered a model to
     *     check the sites against
     */
    @Transactional
    public RetrainingJobSummary request(String name, TrainingRequest body, String requestedBy) {
        InterventionRegistry.checkName(name);
        if (body == null) {
            throw invalid("body: expected a JSON object with method, source, target and sites");
        }
        ApiError.textField("description", body.description());
        String wireName = required("method", body.method());
        InterventionMethod method = InterventionMethods.find(wireName).orElseThrow(() -> invalid("method: must be "
                + InterventionMethods.wireNames() + ", got '" + wireName + "'"));
        int sourceSize = promptSetSize("source", body.source());
        int targetSize = promptSetSize("target", body.target());
        String sites = body.sites() == null || body.sites().isBlank() ? SiteSpec.DEFAULT : body.sites().strip();
        checkSites(sites);
        Hyperparameters hp = Hyperparameters.of(body, method.defaults());
        try {
            TrainingSettings settings = hp.settings(method.defaults());
            method.check(settings);
            method.checkPromptCounts(body.source(), sourceSize, body.target(), targetSize, settings);
        } catch (IllegalArgumentException e) {
            throw invalid(e.getMessage());
        }
        if (hp.tokenGates() && Math.min(sourceSize, targetSize) < TokenGates.MIN_ROWS_PER_CLASS) {
            throw invalid("tokenGates: a gate is fitted from at least " + TokenGates.MIN_ROWS_PER_CLASS
                    + " source and " + TokenGates.MIN_ROWS_PER_CLASS + " target prompts; '" + body.source() + "' has "
                    + sourceSize + ", '" + body.target() + "' " + targetSize);
        }
        checkKind(name, body.kind());
        Optional<EvaluationRequest> evaluation = gateSpecs.resolve(name, body.evaluation(), body.source(), body.target());
        if (Boolean.TRUE.equals(body.promote()) && evaluation.isEmpty()) {
            throw invalid("promote: needs an evaluation (only a candidate the evaluation gate passes is promoted), and '"
                    + name + "' has no default; give evaluation {prompts, concept}");
        }

        RetrainingJob job = new RetrainingJob();
        job.id = UUID.randomUUID();
        job.intervention = name;
        job.kind = body.kind();
        job.description = body.description();
        job.method = wireName;
        job.sourceSet = body.source();
        job.targetSet = body.target();
        job.sites = sites;
        job.hyperparametersJson = write(hp);
        job.promote = Boolean.TRUE.equals(body.promote());
        job.evaluationSpecJson = evaluation.map(this::write).orElse(null);
        job.status = RetrainingJob.Status.QUEUED.name();
        job.requestedBy = requestedBy == null || requestedBy.isBlank() ? "http" : requestedBy;
        job.createdAt = Instant.now();
        job.queuedAt = job.createdAt;
        job.persist();
        appendRecord(job);
        LOG.infof("retraining job %s queued: %s %s on %s -> %s at %s, %s (by %s)", job.id, name, wireName,
                job.sourceSet, job.targetSet, job.sites, evaluation.map(e -> "evaluated on " + e.prompts() + " for "
                        + e.concept() + (job.promote ? ", promoted if the gate passes" : ""))
                        .orElse("not evaluated"), job.requestedBy);
        return summary(job);
    }

    /**
     * The newest {@code limit} jobs, newest first; only those of one intervention when {@code intervention} is given.
     * The database applies the limit: a job carries its loss history, so reading every job would grow without bound.
     */
    @Transactional
    public List<RetrainingJobSummary> list(String intervention, int limit) {
        PanacheQuery<RetrainingJob> jobs = intervention == null || intervention.isBlank()
                ? RetrainingJob.<RetrainingJob>find("order by createdAt desc, id desc")
                : RetrainingJob.<RetrainingJob>find("intervention = ?1 order by createdAt desc, id desc", intervention);
        return jobs.page(Page.ofSize(limit)).list().stream().map(this::summary).toList();
    }

    /**
     * The gate reports ({@link RetrainingJobSummary#gateReport}) of the newest {@code limit} evaluated jobs of
     * {@code intervention}, newest first; only that column is read.
     */
    @Transactional
    public List<JsonNode> gateReports(String intervention, int limit) {
        List<String> reports = RetrainingJob.getEntityManager()
                .createQuery("select j.evaluationJson from RetrainingJob j"
                        + " where j.intervention = :intervention and j.evaluationJson is not null"
                        + " order by j.createdAt desc, j.id desc", String.class)
                .setParameter("intervention", intervention).setMaxResults(limit).getResultList();
        return reports.stream().map(this::tree).toList();
    }

    @Transactional
    public Optional<RetrainingJobSummary> get(UUID id) {
        return RetrainingJob.<RetrainingJob>findByIdOptional(id).map(this::summary);
    }

    /** Whether a job with this id was ever queued. */
    @Transactional
    public boolean exists(UUID id) {
        return RetrainingJob.count("id", id) > 0;
    }

    /**
     * Marks a job RUNNING for this trainer if it is QUEUED, or RUNNING without a heartbeat for
     * {@code steergate.retraining.stale-after} (its trainer died: a redelivered record restarts it at once rather than
     * waiting for the sweep). Anything else (finished, unknown, or running live elsewhere) is skipped: a redelivery
     * never trains a job twice at once. An orphaned job that has used {@code max-attempts} ends FAILED instead.
     */
    @Transactional
    public Optional<Claim> claim(UUID id) {
        RetrainingJob job = RetrainingJob.findById(id, LockModeType.PESSIMISTIC_WRITE);
        if (job == null) {
            LOG.warnf("retraining job %s skipped: no such job", id);
            return Optional.empty();
        }
        Instant now = Instant.now();
        boolean orphaned = orphaned(job, now);
        if (!queued(job) && !orphaned) {
            LOG.infof("retraining job %s skipped: already %s", id, job.status);
            return Optional.empty();
        }
        if (orphaned) {
            String reason = trainerDied(job, now);
            if (job.attempts >= config.maxAttempts()) {
                giveUp(job, reason, now);
                return Optional.empty();
            }
            job.lastError = reason;
            recovered("trainer-died");
        }
        job.status = RetrainingJob.Status.RUNNING.name();
        job.attempts++;
        job.startedAt = now;
        job.heartbeatAt = now;
        job.progressJson = null;
        job.lossHistoryJson = null;
        LOG.infof("retraining job %s running (attempt %d%s): %s %s at %s", id, job.attempts,
                job.lastError != null ? ", after " + job.lastError : "", job.intervention, job.method, job.sites);
        EvaluationRequest evaluation = job.evaluationSpecJson == null ? null
                : read(job.evaluationSpecJson, EvaluationRequest.class);
        return Optional.of(new Claim(job.id, job.attempts, job.intervention, job.kind, job.description, job.method,
                job.sites, read(job.hyperparametersJson, Hyperparameters.class), job.promote,
                promptSets.texts(job.sourceSet), promptSets.texts(job.targetSet), evaluation,
                evaluation == null ? null : promptSets.texts(evaluation.prompts())));
    }

    /**
     * Marks FAILED a job that could not be claimed because reading it failed permanently, unless a trainer runs it
     * live or it has finished meanwhile.
     *
     * @return whether the job is now FAILED with {@code error}
     */
    @Transactional
    public boolean abandon(UUID id, String error) {
        RetrainingJob job = RetrainingJob.findById(id, LockModeType.PESSIMISTIC_WRITE);
        if (job == null || !(queued(job) || orphaned(job, Instant.now()))) {
            return false;
        }
        markFailed(job, error, error, Instant.now());
        return true;
    }

    /**
     * One pass of the recovery sweep (trainer role). Jobs QUEUED for longer than {@code queued-grace} (their record was
     * lost, or acked without running) get a fresh steer.retraining record; RUNNING jobs without a heartbeat for
     * {@code stale-after} (their trainer died) are put back to QUEUED with a fresh record and the reason as lastError,
     * or end FAILED once they have used {@code max-attempts}. Each job's update and its record commit together; rows
     * are locked with skip locked, so two trainers sweeping at once never handle one job twice, and a job a trainer
     * is writing at that moment waits for the next sweep.
     */
    @Transactional
    public void recover() {
        Instant now = Instant.now();
        @SuppressWarnings("unchecked")
        List<RetrainingJob> due = RetrainingJob.getEntityManager().createNativeQuery("""
                select * from retraining_jobs
                 where status in ('QUEUED', 'RUNNING')
                   and ((status = 'QUEUED' and queued_at < :queuedBefore)
                     or (status = 'RUNNING' and heartbeat_at < :staleBefore))
                 order by created_at
                 limit :batch
                 for update skip locked""", RetrainingJob.class)
                .setParameter("queuedBefore", now.minus(config.queuedGrace()))
                .setParameter("staleBefore", now.minus(config.staleAfter()))
                .setParameter("batch", SWEEP_BATCH)
                .getResultList();
        for (RetrainingJob job : due) {
            if (queued(job)) {
                // nothing ran, so no attempt is used: the record is only queued again
                LOG.warnf("retraining job %s re-queued: still QUEUED %s after its record was queued (lost, or waiting "
                        + "behind another training)", job.id, age(Duration.between(job.queuedAt, now)));
                requeue(job, now);
                recovered("record-lost");
            } else if (job.attempts >= config.maxAttempts()) {
                giveUp(job, trainerDied(job, now), now);
            } else {
                job.lastError = trainerDied(job, now);
                LOG.warnf("retraining job %s re-queued after attempt %d of %d: %s", job.id, job.attempts,
                        config.maxAttempts(), job.lastError);
                requeue(job, now);
                recovered("trainer-died");
            }
        }
    }

    /** Stores progress and refreshes the heartbeat; false when this attempt no longer owns the job (stop training). */
    @Transactional
    public boolean heartbeat(Claim claim, String progressJson) {
        return heartbeat(claim, progressJson, null);
    }

    /**
     * As {@link #heartbeat(Claim, String)}, storing the loss curve so far too ({@link LossHistory} as JSON; null keeps
     * the stored one).
     */
    @Transactional
    public boolean heartbeat(Claim claim, String progressJson, String lossHistoryJson) {
        RetrainingJob job = RetrainingJob.findById(claim.id(), LockModeType.PESSIMISTIC_WRITE);
        if (!owns(job, claim)) {
            return false;
        }
        job.progressJson = progressJson;
        if (lossHistoryJson != null) {
            job.lossHistoryJson = lossHistoryJson;
        }
        job.heartbeatAt = Instant.now();
        return true;
    }

    /**
     * Stores the trained map as a candidate version (created by "retraining-job:&lt;id&gt;") with the evaluation gate's
     * verdict, and marks the job SUCCEEDED, all in one transaction: a crash leaves either no version or a finished
     * job. The version is promoted only when the job asks for it, the gate PASSED it, and the version it was measured
     * against is still the active one (otherwise the measurement no longer says it is better); the report records
     * which of these happened ({@code promotion}).
     *
     * @param gate the gate's outcome, or null when the job is not evaluated
     * @return the new version, or empty when a later attempt owns the job (this result is dropped)
     * @throws ApiError when the registry refuses the map; nothing is stored then
     */
    @Transactional
    public Optional<Integer> succeed(Claim claim, byte[] mapFile, String metricsJson, String progressJson,
            GateEvaluation.Outcome gate) {
        RetrainingJob job = RetrainingJob.findById(claim.id(), LockModeType.PESSIMISTIC_WRITE);
        if (!owns(job, claim)) {
            return Optional.empty();
        }
        InterventionRegistry.VersionSummary version = registry.upload(claim.intervention(), claim.kind(),
                claim.description(), mapFile, "retraining-job:" + claim.id());
        if (gate != null) {
            String verdict = gate.decision().verdict().name();
            registry.recordGate(claim.intervention(), version.version(), verdict);
            String promotion = promotion(claim, gate, version.version());
            Map<String, Object> report = new LinkedHashMap<>(gate.report());
            report.put("version", version.version());
            report.put("promotion", promotion);
            job.gate = verdict;
            job.evaluationJson = write(report);
            LOG.infof("retraining job %s: %s version %d %s", claim.id(), claim.intervention(), version.version(),
                    promotion);
        }
        job.status = RetrainingJob.Status.SUCCEEDED.name();
        job.resultVersion = version.version();
        job.metricsJson = metricsJson;
        job.progressJson = progressJson;
        job.finishedAt = Instant.now();
        job.heartbeatAt = job.finishedAt;
        return Optional.of(version.version());
    }

    /** Promotes a PASSED candidate if the job asks and the version it replaces is still active; says what happened. */
    private String promotion(Claim claim, GateEvaluation.Outcome gate, int version) {
        String notPromoted = whyNotPromoted(gate, claim.promote(), registry.activeVersion(claim.intervention()).orElse(null));
        if (notPromoted != null) {
            return notPromoted;
        }
        registry.promote(claim.intervention(), version);
        return "promoted: the gate PASSED it and the job asked to promote";
    }

    /**
     * Why a candidate stays one, or null when it is promoted: only a PASSED one whose job asks, and only while the
     * version it was gated to replace is still the active one (another promoted meanwhile was not measured).
     */
    static String whyNotPromoted(GateEvaluation.Outcome gate, boolean promote, Integer activeNow) {
        if (gate.decision().verdict() != GateRule.Verdict.PASSED) {
            return "stays candidate: the gate REFUSED it";
        }
        if (!promote) {
            return "awaits an operator's promotion: the gate PASSED it and the job did not ask to promote";
        }
        if (!Objects.equals(activeNow, gate.replacedVersion())) {
            String measured = gate.baselineVersion() != null ? "version " + gate.baselineVersion()
                    : gate.replacedVersion() == null ? "no active version"
                    : "the unsteered model in place of version " + gate.replacedVersion();
            return "stays candidate: measured against " + measured + " but " + (activeNow == null ? "none" : "version "
                    + activeNow) + " is active now; promote it by hand after checking";
        }
        return null;
    }

    /** Marks the job FAILED with a one-line error (also its lastError), unless a later attempt owns it. */
    @Transactional
    public void fail(Claim claim, String error) {
        RetrainingJob job = RetrainingJob.findById(claim.id(), LockModeType.PESSIMISTIC_WRITE);
        if (!owns(job, claim)) {
            return;
        }
        markFailed(job, error, error, Instant.now());
    }

    private static boolean owns(RetrainingJob job, Claim claim) {
        return job != null && job.attempts == claim.attempt() && job.status.equals(RetrainingJob.Status.RUNNING.name());
    }

    private static boolean queued(RetrainingJob job) {
        return job.status.equals(RetrainingJob.Status.QUEUED.name());
    }

    /** RUNNING without a heartbeat for stale-after: the trainer that claimed it died. */
    private boolean orphaned(RetrainingJob job, Instant now) {
        return job.status.equals(RetrainingJob.Status.RUNNING.name())
                && job.heartbeatAt.isBefore(now.minus(config.staleAfter()));
    }

    private static String trainerDied(RetrainingJob job, Instant now) {
        return "trainer died (heartbeat " + age(Duration.between(job.heartbeatAt, now)) + " old)";
    }

    /** "45 s" under two minutes, else whole minutes: "7 min". */
    static String age(Duration age) {
        return age.toMinutes() >= 2 ? age.toMinutes() + " min" : age.toSeconds() + " s";
    }

    private void giveUp(RetrainingJob job, String reason, Instant now) {
        markFailed(job, "gave up after " + job.attempts + " attempts: " + reason, reason, now);
        LOG.errorf("retraining job %s failed: %s", job.id, job.error);
        recovered("gave-up");
    }

    private static void markFailed(RetrainingJob job, String error, String lastError, Instant now) {
        job.status = RetrainingJob.Status.FAILED.name();
        job.error = error;
        job.lastError = lastError;
        job.finishedAt = now;
        job.heartbeatAt = now;
    }

    /** QUEUED again with a fresh record, in the caller's transaction: the update and the record commit together. */
    private void requeue(RetrainingJob job, Instant now) {
        job.status = RetrainingJob.Status.QUEUED.name();
        job.queuedAt = now;
        appendRecord(job);
    }

    private void appendRecord(RetrainingJob job) {
        outbox.append(config.topic(), job.intervention, writeBytes(new RetrainingRequest(job.id.toString())), null);
    }

    private void recovered(String action) {
        metrics.counter("steergate.retraining.recovered", "action", action).increment();
    }

    private int promptSetSize(String field, String name) {
        required(field, name);
        return promptSets.get(ApiError.textField(field, name)).map(PromptSetStore.PromptSetContent::size).orElseThrow(() -> new ApiError(404,
                ErrorCode.NOT_FOUND, field + ": no prompt set '" + name + "'; import it with POST /v1/prompt-sets/" + name));
    }

    private void checkSites(String sites) {
        // The model the most recently started worker serves is the one the trainer loads in a one-model deployment.
        InterventionRegistry.ServedModelSummary model = registry.servedModels().stream().findFirst().orElseThrow(
                () -> new ApiError(409, ErrorCode.CONFLICT, "sites: no worker has registered a model yet, so sites cannot be checked"));
        try {
            SiteSpec.parse(sites, model.layers());
        } catch (IllegalArgumentException e) {
            throw invalid("sites: " + e.getMessage() + " (model " + model.name() + " has " + model.layers() + " layers)");
        }
    }

    private void checkKind(String name, String kind) {
        Optional<InterventionRegistry.InterventionSummary> existing = registry.get(name);
        if (existing.isEmpty()) {
            InterventionRegistry.checkKind(kind);
        } else if (kind != null && !kind.equals(existing.get().kind())) {
            throw new ApiError(409, ErrorCode.CONFLICT, "kind: intervention '" + name + "' is of kind "
                    + existing.get().kind() + ", not " + kind);
        }
    }

    private static String required(String field, String value) {
        if (value == null || value.isBlank()) {
            throw invalid(field + ": required");
        }
        return value;
    }

    private static ApiError invalid(String message) {
        return new ApiError(400, ErrorCode.INVALID_REQUEST, message);
    }

    private RetrainingJobSummary summary(RetrainingJob j) {
        return new RetrainingJobSummary(j.id, j.intervention, j.kind, j.description, j.method, j.sourceSet, j.targetSet,
                j.sites, tree(j.hyperparametersJson), j.promote, j.status, j.attempts, tree(j.progressJson),
                j.resultVersion, tree(j.metricsJson), j.error, j.lastError, j.requestedBy, j.createdAt, j.startedAt,
                j.finishedAt, tree(j.evaluationSpecJson), j.gate, tree(j.evaluationJson), tree(j.lossHistoryJson));
    }

    private JsonNode tree(String text) {
        return text == null ? null : read(text, JsonNode.class);
    }

    private <T> T read(String text, Class<T> type) {
        try {
            return json.readValue(text, type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a retraining_jobs JSON column holds invalid JSON", e);
        }
    }

    private String write(Object value) {
        return new String(writeBytes(value), java.nio.charset.StandardCharsets.UTF_8);
    }

    private byte[] writeBytes(Object value) {
        try {
            return json.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("records always serialise as JSON", e);
        }
    }
}
