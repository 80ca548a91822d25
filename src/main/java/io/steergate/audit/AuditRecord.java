package io.steergate.audit;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/**
 * One outcome, tied to the model fingerprint, the policy version and the exact plan. Append-only: the application's
 * database role may only insert it, and a trigger refuses updates. Written by {@link AuditLog} (never persisted
 * through this entity) as a link of its tenant's hash chain.
 */
@Entity
@Table(name = "audit_records")
public class AuditRecord extends PanacheEntityBase {

    /**
     * SQL over audit_records as {@code a}: the records of an output its client received, COMPLETED or a stream the
     * client closed (FAILED CANCELLED, with the text it had seen; one cancelled before its first token has "" and
     * delivered nothing). What reviewers review, the dashboard counts and the retraining triggers measure: a client
     * that leaves just before the end must not take its output past them.
     */
    public static final String DELIVERED_OUTPUT = "(a.status = 'COMPLETED' or (a.status = 'FAILED'"
            + " and a.error_code = 'CANCELLED' and a.output_text <> ''))";

    /**
     * The second half of {@link #DELIVERED_OUTPUT} in Java: a stream its client closed after some text had been sent
     * (what GenerationService scores and flags beside COMPLETED outcomes, and the review page names).
     */
    public static boolean cancelledStream(String status, String errorCode, String outputText) {
        return "FAILED".equals(status) && "CANCELLED".equals(errorCode) && outputText != null && !outputText.isEmpty();
    }

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    public Long id;

    @Column(name = "request_id")
    public String requestId;

    public String tenant;

    public String status;

    @Column(name = "model_name")
    public String modelName;

    @Column(name = "model_fingerprint")
    public String modelFingerprint;

    @Column(name = "policy_id")
    public String policyId;

    @Column(name = "policy_version")
    public String policyVersion;

    @Column(name = "applied_json", columnDefinition = "text")
    public String appliedJson;

    @Column(name = "scores_json", columnDefinition = "text")
    public String scoresJson;

    @Column(name = "decision_trace_json", columnDefinition = "text")
    public String decisionTraceJson;

    @Column(name = "output_text", columnDefinition = "text")
    public String outputText;

    @Column(name = "error_code")
    public String errorCode;

    @Column(name = "error_message", columnDefinition = "text")
    public String errorMessage;

    @Column(name = "queue_ms")
    public Long queueMs;

    @Column(name = "generate_ms")
    public Long generateMs;

    @Column(name = "total_ms")
    public Long totalMs;

    @Column(name = "recorded_at")
    public Instant recordedAt;

    /** Place in the tenant's chain: 1, 2, ... */
    @Column(name = "chain_seq")
    public Long chainSeq;

    /** The canonical form the hash covers: 1 (written before V14) or 2 ({@link AuditChain}). */
    @Column(name = "canonical_form")
    public Integer canonicalForm;

    /** Form 2: every generation attempt (JSON array: rung, plan, scores, flagged, outcome); null when none. */
    @Column(name = "attempts_json", columnDefinition = "text")
    public String attemptsJson;

    /** Form 2: the unsteered continuation, when the policy sampled the request. */
    @Column(name = "counterfactual_text", columnDefinition = "text")
    public String counterfactualText;

    /** sha256 of the previous record's hash and this record's canonical bytes, hex ({@link AuditChain}). */
    public String hash;

    AuditEntry entry() {
        return new AuditEntry(id, tenant, chainSeq, requestId, AuditChain.recordedAt(recordedAt), status, modelName,
                modelFingerprint, policyId, policyVersion, appliedJson, scoresJson, decisionTraceJson, outputText,
                errorCode, errorMessage, queueMs, generateMs, totalMs, canonicalForm, attemptsJson, counterfactualText, hash);
    }
}
