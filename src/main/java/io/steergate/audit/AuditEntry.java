package io.steergate.audit;

/**
 * An audit record as its tenant's hash chain sees it: every hashed field as stored (JSON columns as their exact text,
 * {@code recordedAt} as {@link AuditChain#recordedAt}), its place in the chain and its hash. Also one record line of an
 * export bundle ({@link AuditBundle}), so that a bundle can be checked without the database.
 */
public record AuditEntry(long id, String tenant, long seq, String requestId, String recordedAt, String status,
        String modelName, String modelFingerprint, String policyId, String policyVersion, String appliedJson,
        String scoresJson, String decisionTraceJson, String outputText, String errorCode, String errorMessage,
        Long queueMs, Long generateMs, Long totalMs, String hash) {

    /** The same record with its hash. */
    AuditEntry withHash(String newHash) {
        return new AuditEntry(id, tenant, seq, requestId, recordedAt, status, modelName, modelFingerprint, policyId,
                policyVersion, appliedJson, scoresJson, decisionTraceJson, outputText, errorCode, errorMessage, queueMs,
                generateMs, totalMs, newHash);
    }
}
