package io.steergate.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.steergate.audit.AuditLog;
import io.steergate.audit.AuditRecord;
import io.steergate.kafka.JobTopics;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.GenerationRequest;
import io.steergate.messages.GenerationResult;
import io.steergate.messages.GenerationResult.Status;
import io.steergate.messages.Job;
import io.steergate.messages.JobResult;
import io.steergate.messages.PolicyRef;
import io.steergate.outbox.DeadLetters;
import io.steergate.outbox.Outbox;
import io.steergate.policy.Decision;
import io.steergate.policy.Policy;
import io.steergate.policy.PolicyEngine;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The gateway's two durable steps. {@link #accept} records a new request (or recognises a repeated id) and queues its
 * job or its rejection; {@link #complete} records a worker's outcome with its audit record and queues the result.
 * Each runs in one transaction with its outbox rows, so an outcome is published if and only if it is stored.
 */
@ApplicationScoped
public class GenerationService {

    private static final Logger LOG = Logger.getLogger(GenerationService.class);
    private static final SecureRandom SEEDS = new SecureRandom();
    /** The metric label for any value outside a closed set. */
    private static final String OTHER = "other";
    /**
     * Characters of an undelivered output (or a counterfactual) stored per attempt, per token a job may ask for: far
     * above what a real token decodes to, so only a forged job result's text is cut.
     */
    static final int MAX_CHARS_PER_TOKEN = 64;

    @Inject
    ObjectMapper json;

    @Inject
    PolicyEngine policies;

    @Inject
    AuditLog audit;

    @Inject
    Outbox outbox;

    @Inject
    DeadLetters deadLetters;

    @Inject
    GatewayConfig config;

    @Inject
    KafkaTopicRouting topics;

    @Inject
    JobTopics jobTopics;

    @Inject
    MeterRegistry metrics;

    @Inject
    GenerationWaiters waiters;

    @Inject
    OutcomeNotices notices;

    @Inject
    Quotas quotas;

    @Inject
    LimitsConfig limits;

    @Inject
    JobTokenFeed tokens;

    /**
     * What became of a request: its state and result, or (HTTP only) the quota that refused it, with nothing stored.
     * A new streamed request has the key of its job ({@code jobKey}, whose pieces {@link JobTokenFeed} keeps) and is
     * {@code live} when its policy can neither withhold nor regenerate its output, so it may reach the client as generated.
     */
    public record Acceptance(Generation.State state, String resultJson, boolean duplicate, Quotas.Exceeded overQuota,
            String jobKey, boolean live) {

        Acceptance(Generation.State state, String resultJson, boolean duplicate) {
            this(state, resultJson, duplicate, null, null, false);
        }
    }

    /**
     * Sends an unreadable message consumed from {@code sourceTopic} to its dead-letter topic, unchanged (key and value
     * the bytes received), with the reason in headers.
     */
    @Transactional
    public void deadLetter(String sourceTopic, byte[] raw, byte[] key, ErrorInfo error) {
        deadLetters.put(topics.deadLetterTopic(sourceTopic), raw, key, error);
        counter("steergate.requests.dead.lettered", "code", error.code()).increment();
    }

    /**
     * Records a request whose id is readable. A repeated id of the same tenant (ids are unique per tenant) changes
     * nothing: from Kafka its stored result is published again unchanged (or, still pending, it will be published
     * once); from HTTP it is only returned. A new request is charged to its tenant's quotas; over one, it is REJECTED
     * QUOTA_EXCEEDED from Kafka, and from HTTP nothing is stored (the client may send the same id again later).
     */
    @Transactional
    public Acceptance accept(DecodedRequest decoded, Generation.Source source) {
        return accept(decoded, source, false);
    }

    /** As {@link #accept(DecodedRequest, Generation.Source)}; {@code stream}: the client reads the text as it is generated. */
    @Transactional
    public Acceptance accept(DecodedRequest decoded, Generation.Source source, boolean stream) {
        if (decoded instanceof DecodedRequest.Unreadable) {
            throw new IllegalArgumentException("an unreadable request has no id");
        }
        String id = decoded.id();
        Optional<Generation> existing = Generation.byTenantAndRequestId(decoded.tenant(), id);
        if (existing.isPresent()) {
            Generation seen = existing.get();
            if (seen.resultJson != null && source == Generation.Source.KAFKA) {
                outbox.append(topics.resultsTopic(seen.tenant), id, seen.resultJson.getBytes(StandardCharsets.UTF_8), null);
            }
            counter("steergate.requests.duplicate", "source", source.name()).increment();
            LOG.debugf("request %s seen before (%s)", id, seen.status);
            return new Acceptance(seen.status, seen.resultJson, true);
        }
        if (decoded.tenant() != null) {
            Optional<Quotas.Exceeded> over = quotas.admit(decoded.tenant());
            if (over.isPresent()) {
                if (source == Generation.Source.HTTP) {
                    LOG.infof("request %s refused: %s", id, over.get().error().message());
                    return new Acceptance(null, null, false, over.get(), null, false);
                }
                counter("steergate.requests", "source", source.name()).increment();
                return reject(new DecodedRequest.Invalid(id, decoded.tenant(), over.get().error()), null, null, source);
            }
        }
        counter("steergate.requests", "source", source.name()).increment();
        return decoded instanceof DecodedRequest.Valid valid
                ? queue(valid.request(), source, stream)
                : reject((DecodedRequest.Invalid) decoded, null, null, source);
    }

    /**
     * Records a worker's outcome: the generation row, its audit record and the result to publish. A job result for
     * a request already finished (a redelivered job), or of an escalation attempt other than the one in flight (a
     * late or redelivered earlier attempt), is ignored, so the first outcome of the current attempt is the only one
     * published. A completed output that a policy scorer flags is generated again with the next rung of the policy's
     * escalation ladder (the request stays PENDING); after the last rung, the policy's onFailure withholds it
     * (REJECTED OUTPUT_WITHHELD) or delivers it flagged. Every current attempt's tokens are charged to the tenant's
     * quota, delivered or not (its own and its counterfactual row's, each at most the job's maxTokens, so a forged
     * usage cannot exhaust a quota); a stale or repeated result is charged nothing.
     */
    @Transactional
    public void complete(JobResult outcome) {
        // Locked: two gateways finishing one request (a redelivery after a rebalance, or the deadline sweep) take turns,
        // and the second sees it finished, so there is one audit record and one result per id.
        Optional<Generation> row = Generation.byJobKeyForUpdate(outcome.requestId());
        if (row.isEmpty()) {
            LOG.errorf("job result for unknown request %s ignored: no generation row (was the database reset?)", outcome.requestId());
            counter("steergate.job.results.orphaned").increment();
            return;
        }
        Generation generation = row.get();
        if (generation.finished()) {
            LOG.debugf("job result for %s ignored: already %s", outcome.requestId(), generation.status);
            return;
        }
        int attempt = Generation.attemptOf(outcome.requestId());
        if (attempt != generation.attempt) {
            LOG.debugf("job result %s ignored: stale, its request is at escalation attempt %d", outcome.requestId(), generation.attempt);
            counter("steergate.job.results.stale").increment();
            return;
        }
        Job job = read(generation.jobJson, Job.class);
        int maxStoredChars = storedTextChars();
        if (job.counterfactual()) {
            // asked of the first attempt only: the unsteered continuation does not depend on the rung
            String counterfactual = outcome.counterfactualText();
            generation.counterfactualText = counterfactual == null || counterfactual.length() <= maxStoredChars
                    ? counterfactual : counterfactual.substring(0, maxStoredChars);
        }
        long chargedTokens = attemptTokens(job, outcome);
        if (generation.tenant != null && chargedTokens > 0) {
            quotas.chargeTokens(generation.tenant, chargedTokens);
        }
        long totalMs = Duration.between(generation.acceptedAt, Instant.now()).toMillis();
        boolean completed = outcome.status() == Status.COMPLETED;
        // a cancelled stream's text is what its client saw before it went away
        boolean cancelled = outcome.status() == Status.FAILED && outcome.error() != null
                && ErrorCode.CANCELLED.name().equals(outcome.error().code());
        // What a client received is moderated whether or not it stayed to the end: a stream closed just before its last
        // token would otherwise escape scoring, flags, review and the retraining triggers (AuditRecord.DELIVERED_OUTPUT).
        boolean delivered = completed || AuditRecord.cancelledStream(outcome.status().name(),
                outcome.error() == null ? null : outcome.error().code(), outcome.text());
        Map<String, Double> scores = delivered ? policies.score(job.policy(), outcome.text(), outcome.probeScores()) : Map.of();
        List<String> flagged = delivered ? policies.flagged(job.policy(), scores) : List.of();
        List<GenerationAttempt> attempts = new ArrayList<>(generation.attemptsJson == null ? List.of()
                : List.of(read(generation.attemptsJson, GenerationAttempt[].class)));
        // planned under a policy this gateway can find nowhere: no scorer can judge it, so it is withheld unless its
        // client has it already (below)
        boolean unjudged = completed && !policies.known(job.policy());
        GenerationAttempt thisAttempt = new GenerationAttempt(attempt, outcome.requestId(), outcome.status().name(),
                job.plan(), scores, flagged, !completed ? GenerationAttempt.FAILED : unjudged ? GenerationAttempt.UNJUDGED
                        : flagged.isEmpty() ? GenerationAttempt.PASSED : GenerationAttempt.FLAGGED, null,
                attempt == 0 || generation.rungTraceJson == null ? null : List.of(read(generation.rungTraceJson, String[].class)),
                chargedTokens, null);
        Policy.Escalation ladder = policies.escalation(job.policy());
        if (completed && (attempt > 0 || !flagged.isEmpty() || !ladder.rungs().isEmpty())) {
            metrics.counter("steergate.escalation.attempts", "rung", Integer.toString(Math.min(attempt, Policy.Escalation.MAX_RUNGS)),
                    "outcome", thisAttempt.outcome()).increment();
        }
        // the client of a cancelled or a live stream has its text already: nothing to generate again or withhold, even
        // when the policy in force now (changed since acceptance, or another gateway's) would hold it back
        boolean clientHasIt = cancelled || generation.liveStream;
        if (completed && !flagged.isEmpty() && !clientHasIt
                && escalate(generation, job, attempts, thisAttempt.withUndeliveredText(outcome.text(), maxStoredChars))) {
            return;
        }
        boolean withheld = !clientHasIt
                && (unjudged || (completed && !flagged.isEmpty() && ladder.onFailure() == Policy.OnFailure.WITHHOLD));
        attempts.add(withheld || cancelled ? thisAttempt.withUndeliveredText(outcome.text(), maxStoredChars) : thisAttempt);
        generation.attemptsJson = write(attempts);
        GenerationResult result = withheld
                ? new GenerationResult(generation.requestId, generation.tenant, Status.REJECTED, null, outcome.model(),
                        job.policy(), job.plan(), scores, outcome.usage(),
                        new GenerationResult.Timings(outcome.queueMs(), outcome.generateMs(), totalMs),
                        ErrorInfo.of(ErrorCode.OUTPUT_WITHHELD, unjudged ? unjudgedMessage(job.policy())
                                : withheldMessage(job.policy(), scores, flagged, attempts.size())),
                        flagged, null)
                : new GenerationResult(generation.requestId, generation.tenant, outcome.status(), outcome.text(),
                        outcome.model(), job.policy(), delivered ? job.plan() : List.of(), scores, outcome.usage(),
                        new GenerationResult.Timings(outcome.queueMs(), outcome.generateMs(), totalMs), outcome.error(),
                        flagged.isEmpty() ? null : flagged,
                        completed && generation.deliverCounterfactual ? generation.counterfactualText : null);
        finish(generation, result);
        metrics.timer("steergate.request.latency", "status", result.status().name()).record(Duration.ofMillis(totalMs));
        metrics.timer("steergate.request.queue.wait").record(Duration.ofMillis(outcome.queueMs()));
        if (result.status() == Status.COMPLETED) {
            // versions are left out of the labels (every promotion would add series); the audit record has them
            result.applied().forEach(applied -> metrics.counter("steergate.interventions.applied", "intervention",
                    policies.names(applied.intervention()) ? applied.intervention() : OTHER).increment());
            LOG.infof("request %s COMPLETED%s: %d+%d tokens, queue %d ms, generate %d ms, total %d ms", result.id(),
                    result.flagged() == null ? "" : " flagged by " + result.flagged(), result.usage().promptTokens(),
                    result.usage().completionTokens(), outcome.queueMs(), outcome.generateMs(), totalMs);
        } else {
            String code = result.error() == null ? "NONE" : codeLabel(result.error().code());
            counter(result.status() == Status.REJECTED ? "steergate.requests.rejected" : "steergate.requests.failed", "code", code).increment();
            LOG.infof("request %s %s: %s %s", result.id(), result.status(),
                    result.error() == null ? "" : result.error().code(), result.error() == null ? "" : result.error().message());
        }
    }

    /**
     * Queues the request's next escalation attempt when its policy's ladder has a rung for it: the same request and
     * seed, the plan the policy decides for that rung now (registry's active versions, site cap), a new job key so
     * that a late result of this attempt is recognised as stale. The row stays PENDING. False when there is no next
     * rung (or it cannot be planned), and the flagged output goes to the ladder's onFailure.
     */
    private boolean escalate(Generation generation, Job job, List<GenerationAttempt> attempts, GenerationAttempt flagged) {
        int next = generation.attempt + 1;
        // the parser allows no more rungs, but a policy replaced between attempts is read anew: the bound holds here too
        if (generation.requestJson == null || next > Policy.Escalation.MAX_RUNGS) {
            return false;
        }
        Optional<Decision> rung = policies.escalate(read(generation.requestJson, GenerationRequest.class), job.policy(), next);
        if (rung.isEmpty()) {
            return false;
        }
        if (rung.get().isRejected()) {
            LOG.warnf("request %s: escalation rung %d cannot be planned, the ladder ends here: %s %s", generation.requestId,
                    next, rung.get().rejection().code(), rung.get().rejection().message());
            return false;
        }
        attempts.add(flagged);
        generation.attemptsJson = write(attempts);
        generation.attempt = next;
        generation.rungTraceJson = write(rung.get().trace());
        Job retry = new Job(generation.jobKey(), job.tenant(), job.model(), job.prompt(), job.maxTokens(), job.temperature(),
                job.topP(), job.seed(), rung.get().policy(), rung.get().plan(), Instant.now().toEpochMilli(), false,
                policies.probes(rung.get().policy()), job.stream());
        generation.jobJson = write(retry);
        generation.persist();
        outbox.append(jobTopics.topic(retry.model()), retry.requestId(), generation.jobJson.getBytes(StandardCharsets.UTF_8), null);
        LOG.infof("request %s escalated to rung %d of policy %s: attempt %d flagged by %s", generation.requestId, next,
                rung.get().policy().id(), next - 1, flagged.flagged());
        return true;
    }

    /**
     * The completion tokens an attempt generated as its worker reports them: the steered row's and, when the job asked
     * for one, its counterfactual row's, each bounded by the job's maxTokens (a real worker never reports more).
     */
    private static long attemptTokens(Job job, JobResult outcome) {
        long own = outcome.usage() == null ? 0 : outcome.usage().completionTokens();
        long counterfactual = job.counterfactual() && outcome.counterfactualTokens() != null ? outcome.counterfactualTokens() : 0;
        return Math.min(Math.max(0, own), job.maxTokens()) + Math.min(Math.max(0, counterfactual), job.maxTokens());
    }

    /** Characters of an undelivered output or a counterfactual kept per attempt. */
    private int storedTextChars() {
        return limits.maxTokens() * MAX_CHARS_PER_TOKEN;
    }

    /** OUTPUT_WITHHELD's message for an output no policy here can judge: which policy version it was planned under. */
    private static String unjudgedMessage(PolicyRef policy) {
        return "output withheld: policy '" + policy.id() + "' " + policy.version() + ", under which it was planned, is neither"
                + " in force on this gateway nor recorded, so its scorers cannot judge the output";
    }

    /** OUTPUT_WITHHELD's message: each flagging scorer with its score and threshold, and how many attempts were made. */
    private String withheldMessage(PolicyRef policy, Map<String, Double> scores, List<String> flagged, int attempts) {
        Map<String, Double> thresholds = new LinkedHashMap<>();
        policies.policyOf(policy).ifPresent(p -> p.scorers().forEach(spec -> thresholds.put(spec.name(), spec.threshold())));
        List<String> over = flagged.stream().map(name -> String.format(Locale.ROOT, "%s %.4f (threshold %s)", name,
                scores.get(name), thresholds.get(name))).toList();
        return "output withheld by policy '" + policy.id() + "' after " + attempts + " attempt" + (attempts == 1 ? "" : "s")
                + ": scores over threshold: " + String.join(", ", over);
    }

    /**
     * Ends requests accepted more than {@code deadline} ago that are still PENDING (their job or its result was lost,
     * or dead-lettered without a result): each becomes FAILED with TIMED_OUT, audited and published. Rows another
     * gateway is finishing right now are skipped. Returns how many were ended.
     */
    @Transactional
    public int expireOverdue(Duration deadline, int max) {
        List<Generation> overdue = new ArrayList<>(Generation.overduePendingForUpdate(Instant.now().minus(deadline), max));
        // Each audit record locks its tenant's chain head until this transaction ends: taken in one order (by tenant)
        // on every gateway, so two sweeps over rows of the same tenants cannot each hold a head the other waits for.
        overdue.sort(Comparator.comparing(generation -> generation.tenant, Comparator.nullsFirst(Comparator.naturalOrder())));
        for (Generation generation : overdue) {
            PolicyRef policy = generation.jobJson == null ? null : read(generation.jobJson, Job.class).policy();
            long totalMs = Duration.between(generation.acceptedAt, Instant.now()).toMillis();
            ErrorInfo error = ErrorInfo.of(ErrorCode.TIMED_OUT, "no outcome within " + deadline.toSeconds()
                    + " s of acceptance (steergate.gateway.request-deadline); the request was not generated");
            finish(generation, new GenerationResult(generation.requestId, generation.tenant, Status.FAILED, null, null,
                    policy, List.of(), Map.of(), new GenerationResult.Usage(0, 0),
                    new GenerationResult.Timings(0, 0, totalMs), error));
            counter("steergate.requests.failed", "code", error.code()).increment();
            LOG.warnf("request %s FAILED: TIMED_OUT after %d ms PENDING", generation.requestId, totalMs);
        }
        return overdue.size();
    }

    /**
     * The last resort for a request whose id is readable but which could not be stored as it came (the database
     * refused it for good): a FAILED result that says why, so the client is answered and the consumer moves on.
     */
    @Transactional
    public Acceptance failUnstorable(String id, String tenant, Generation.Source source, String reason) {
        Optional<Generation> existing = Generation.byTenantAndRequestId(tenant, id);
        if (existing.isPresent()) {
            return new Acceptance(existing.get().status, existing.get().resultJson, true);
        }
        Generation generation = new Generation();
        generation.requestId = id;
        generation.tenant = tenant;
        generation.status = Generation.State.PENDING;
        generation.source = source;
        generation.acceptedAt = Instant.now();
        ErrorInfo error = ErrorInfo.of(ErrorCode.STORAGE_FAILED, "the request could not be stored: " + reason);
        finish(generation, new GenerationResult(id, tenant, Status.FAILED, null, null, null, List.of(), Map.of(),
                new GenerationResult.Usage(0, 0), new GenerationResult.Timings(0, 0, 0), error));
        counter("steergate.requests.failed", "code", error.code()).increment();
        LOG.warnf("request %s FAILED: %s", id, error.message());
        return new Acceptance(generation.status, generation.resultJson, false);
    }

    private Acceptance queue(GenerationRequest request, Generation.Source source, boolean stream) {
        Decision decision = policies.decide(request);
        String traceJson = write(decision.trace());
        if (decision.isRejected()) {
            return reject(new DecodedRequest.Invalid(request.id(), request.tenant(), decision.rejection()),
                    decision.policy(), traceJson, source);
        }
        long seed = request.seed() != null ? request.seed() : SEEDS.nextLong();
        // drawn from the seed, which a repeated request carries too, so its draw agrees
        boolean counterfactual = decision.counterfactualDrawn(seed);
        Instant now = Instant.now();
        Generation generation = new Generation();
        generation.requestId = request.id();
        generation.tenant = request.tenant();
        generation.status = Generation.State.PENDING;
        generation.source = source;
        generation.requestJson = write(request);
        generation.decisionTraceJson = traceJson;
        generation.acceptedAt = now;
        generation.deliverCounterfactual = counterfactual && decision.counterfactual().deliver();
        generation.liveStream = stream && !policies.mayHoldBack(decision.policy());
        generation.persist(); // the identity insert gives the row id the job key is made of
        if (stream) {
            // before the job can be published (the outbox sends after commit): no piece of it precedes its stream
            tokens.expect(generation.jobKey());
        }
        Job job = new Job(generation.jobKey(), request.tenant(), config.model(), request.prompt(), request.maxTokens(),
                request.temperature(), request.topP(), seed, decision.policy(), decision.plan(), now.toEpochMilli(), counterfactual,
                policies.probes(decision.policy()), stream);
        generation.jobJson = write(job);
        // keyed by the job key, not the model, so one model's jobs spread over its topic's partitions and workers; a
        // republished job keeps its key and partition, and escalation attempts run one after another, so need none
        outbox.append(jobTopics.topic(job.model()), job.requestId(), generation.jobJson.getBytes(StandardCharsets.UTF_8), null);
        return new Acceptance(Generation.State.PENDING, null, false, null, generation.jobKey(), generation.liveStream);
    }

    private Acceptance reject(DecodedRequest.Invalid invalid, PolicyRef policy, String traceJson, Generation.Source source) {
        Generation generation = new Generation();
        generation.decisionTraceJson = traceJson;
        generation.requestId = invalid.id();
        generation.tenant = invalid.tenant();
        generation.status = Generation.State.PENDING;
        generation.source = source;
        generation.acceptedAt = Instant.now();
        GenerationResult result = GenerationResult.rejected(invalid.id(), invalid.tenant(), policy, invalid.error(), 0);
        finish(generation, result);
        counter("steergate.requests.rejected", "code", invalid.error().code()).increment();
        LOG.infof("request %s rejected: %s %s", invalid.id(), invalid.error().code(), invalid.error().message());
        return new Acceptance(generation.status, generation.resultJson, false);
    }

    /** Stores the final result on the row, audits it and queues it for its tenant's results topic, in the caller's transaction. */
    private void finish(Generation generation, GenerationResult result) {
        String resultJson = write(result);
        int bytes = resultJson.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > config.maxResultBytes()) {
            result = tooLarge(result, bytes);
            resultJson = write(result);
        }
        generation.status = Generation.State.valueOf(result.status().name());
        generation.resultJson = resultJson;
        generation.errorCode = result.error() == null ? null : result.error().code();
        if (result.usage() != null) {
            generation.promptTokens = result.usage().promptTokens();
            generation.completionTokens = result.usage().completionTokens();
        }
        generation.queueMs = result.timings().queueMs();
        generation.generateMs = result.timings().generateMs();
        generation.totalMs = result.timings().totalMs();
        generation.completedAt = Instant.now();
        generation.persist();
        audit.record(result, generation.decisionTraceJson, generation.attemptsJson, generation.counterfactualText);
        outbox.append(topics.resultsTopic(generation.tenant), result.id(), generation.resultJson.getBytes(StandardCharsets.UTF_8), null);
        waiters.completeAfterCommit(result.tenant(), result.id(), generation.resultJson);
        notices.announce(result.tenant(), result.id());
    }

    /**
     * A result the results topic could not take is never published cut short: it becomes FAILED with the reason
     * (only a forged or broken job result can be this large: maxTokens bounds a real one far below).
     */
    private GenerationResult tooLarge(GenerationResult result, int bytes) {
        ErrorInfo error = ErrorInfo.of(ErrorCode.RESULT_TOO_LARGE, "the result would be " + bytes + " bytes; "
                + "the results topic takes at most " + config.maxResultBytes() + " (steergate.gateway.max-result-bytes)");
        return new GenerationResult(result.id(), result.tenant(), GenerationResult.Status.FAILED, null, result.model(),
                result.policy(), List.of(), Map.of(), result.usage(), result.timings(), error);
    }

    /** A worker's error code as a metric label: one of ours, else "other" (a forged job result may carry anything). */
    private static String codeLabel(String code) {
        return ErrorCode.isKnown(code) ? code : OTHER;
    }

    private Counter counter(String name, String... tags) {
        return metrics.counter(name, tags);
    }

    private String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(value.getClass().getSimpleName() + " must serialise as JSON", e);
        }
    }

    private <T> T read(String text, Class<T> type) {
        try {
            return json.readValue(text, type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored " + type.getSimpleName() + " is unreadable", e);
        }
    }
}
