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

/** One row per request id: the idempotency record and, once known, the exact result that was published. */
@Entity
@Table(name = "generations")
public class Generation extends PanacheEntityBase {

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

    @Column(name = "completed_at")
    public Instant completedAt;

    public static Optional<Generation> byRequestId(String requestId) {
        return find("requestId", requestId).firstResultOptional();
    }

    /** The row locked until the transaction ends (select ... for update). */
    public static Optional<Generation> byRequestIdForUpdate(String requestId) {
        return find("requestId", requestId).withLock(LockModeType.PESSIMISTIC_WRITE).firstResultOptional();
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
