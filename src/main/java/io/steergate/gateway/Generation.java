package io.steergate.gateway;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.LockModeType;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One row per (tenant, request id): the idempotency record and, once known, the exact result that was published. */
@Entity
@Table(name = "generations")
public class Generation extends PanacheEntityBase {

    private static final String JOB_KEY_PREFIX = "g";
    private static final char ATTEMPT_SEPARATOR = '.';
    /** g&lt;row id&gt; for a request's first job, g&lt;row id&gt;.&lt;attempt&gt; for an escalation's later ones. */
    private static final Pattern JOB_KEY = Pattern.compile("g([0-9]{1,18})(?:\\.([1-9][0-9]{0,2}))?");

    public enum State { PENDING, COMPLETED, REJECTED, FAILED }

    public enum Source { KAFKA, HTTP }

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    public Long id;

    @Column(name = "request_id")
    public String requestId;

    public String tenant;

    @jakarta.persistence.Enumerated(jakarta.persistence.EnumType.STRING)
    public State status;

    @jakarta.persistence.Enumerated(jakarta.persistence.EnumType.STRING)
    public Source source;

    @Column(name = "request_json", columnDefinition = "text")
    public String requestJson;

    @Column(name = "job_json", columnDefinition = "text")
    public String jobJson;

    @Column(name = "result_json", columnDefinition = "text")
    public String resultJson;

    /** How the policy decided (JSON array of trace lines); null when the request never reached the policy. */
    @Column(name = "decision_trace_json", columnDefinition = "text")
    public String decisionTraceJson;

    @Column(name = "error_code")
    public String errorCode;

    @Column(name = "prompt_tokens")
    public Integer promptTokens;

    @Column(name = "completion_tokens")
    public Integer completionTokens;

    @Column(name = "queue_ms")
    public Long queueMs;

    @Column(name = "generate_ms")
    public Long generateMs;

    @Column(name = "total_ms")
    public Long totalMs;

    @Column(name = "accepted_at")
    public Instant acceptedAt;

    /** The escalation attempt whose job is in flight (0: the decided plan); a result of any other is stale. */
    public int attempt;

    /** The earlier attempts of an escalated request (JSON array of EscalationAttempt); null before the first is scored. */
    @Column(name = "attempts_json", columnDefinition = "text")
    public String attemptsJson;

    /** How the policy planned the escalation rung in flight (JSON array of trace lines); null at attempt 0. */
    @Column(name = "rung_trace_json", columnDefinition = "text")
    public String rungTraceJson;

    /** The unsteered continuation the first attempt's worker returned, when the policy sampled this request. */
    @Column(name = "counterfactual_text", columnDefinition = "text")
    public String counterfactualText;

    /** Whether the policy puts the counterfactual in the client's result (else it is audited only). */
    @Column(name = "deliver_counterfactual")
    public boolean deliverCounterfactual;

    /**
     * Whether the text goes to its client as it is generated (a live stream, decided at acceptance): then the output
     * is the client's once generated, whatever the policy in force by the time it ends would do with it.
     */
    @Column(name = "live_stream")
    public boolean liveStream;

    @Column(name = "completed_at")
    public Instant completedAt;

    /** A tenant's request; tenant null finds a request rejected before its tenant could be read. */
    public static Optional<Generation> byTenantAndRequestId(String tenant, String requestId) {
        return tenant == null
                ? find("tenant is null and requestId = ?1", requestId).firstResultOptional()
                : find("tenant = ?1 and requestId = ?2", tenant, requestId).firstResultOptional();
    }

    /** The rows with this request id among {@code tenants} (empty scope: every tenant's), at most two. */
    public static List<Generation> byRequestIdAmong(String requestId, Optional<Set<String>> tenants) {
        return (tenants.isPresent()
                ? find("requestId = ?1 and tenant in ?2", requestId, tenants.get())
                : find("requestId = ?1 and tenant is not null", requestId)).page(0, 2).list();
    }

    /**
     * The key of this row's job on steer.jobs and of its outcome on steer.job-results: unique across tenants (a client's
     * request id is unique only within its tenant) and within the worker's id rules.
     */
    public String jobKey() {
        return JOB_KEY_PREFIX + id + (attempt == 0 ? "" : ATTEMPT_SEPARATOR + Integer.toString(attempt));
    }

    /**
     * The escalation attempt a job key names: 0 for {@code g<id>} and for a key queued before keys were per row, n
     * for {@code g<id>.n}. A result whose attempt is not the row's {@link #attempt} is stale (an earlier attempt's,
     * redelivered or late).
     */
    public static int attemptOf(String jobKey) {
        Matcher key = JOB_KEY.matcher(jobKey);
        return key.matches() && key.group(2) != null ? Integer.parseInt(key.group(2)) : 0;
    }

    /** The row id a job key names, whichever its attempt; empty for a key that is not a job key. */
    static OptionalLong rowOf(String jobKey) {
        Matcher key = jobKey == null ? null : JOB_KEY.matcher(jobKey);
        return key != null && key.matches() ? OptionalLong.of(Long.parseLong(key.group(1))) : OptionalLong.empty();
    }

    /**
     * The row a job key names, locked until the transaction ends (select ... for update). A key that is not a job key
     * is a job queued before keys were per row (its client's request id): found when exactly one tenant has that id.
     */
    public static Optional<Generation> byJobKeyForUpdate(String jobKey) {
        Matcher key = JOB_KEY.matcher(jobKey);
        if (key.matches()) {
            return find("id", Long.parseLong(key.group(1)))
                    .withLock(LockModeType.PESSIMISTIC_WRITE).firstResultOptional();
        }
        List<Generation> rows = find("requestId", jobKey).withLock(LockModeType.PESSIMISTIC_WRITE).page(0, 2).list();
        return rows.size() == 1 ? Optional.of(rows.get(0)) : Optional.empty();
    }

    /** Up to {@code max} PENDING rows accepted before {@code before}, oldest first, locked; rows locked elsewhere skipped. */
    @SuppressWarnings("unchecked")
    public static List<Generation> overduePendingForUpdate(Instant before, int max) {
        return getEntityManager().createNativeQuery("select * from generations where status = 'PENDING' and accepted_at < ?1"
                        + " order by accepted_at limit ?2 for update skip locked", Generation.class)
                .setParameter(1, before).setParameter(2, max).getResultList();
    }

    public boolean finished() {
        return status != State.PENDING;
    }
}
