package io.steergate.audit;

/**
 * An audit record as its tenant's hash chain sees it: every hashed field as stored (JSON columns as their exact text,
 * {@code recordedAt} as {@link AuditChain#recordedAt}), its place in the chain and its hash. Also one record line of an
 * export bundle ({@link AuditBundle}), so that a bundle can be checked without the database.
 *
 * @param form               the canonical form its hash covers: 1 or 2 ({@link AuditChain}); null (a bundle line
 *                           written before form 2) is form 1
 * @param attemptsJson       form 2: the generation attempts (JSON array), null when there were none
 * @param counterfactualText form 2: the unsteered continuation, null when none was generated
 */
public record AuditEntry(long id, String tenant, long seq, String requestId, String recordedAt, String status,
        String modelName, String modelFingerprint, String policyId, String policyVersion, String appliedJson,
        String scoresJson, String decisionTraceJson, String outputText, String errorCode, String errorMessage,
        Long queueMs, Long generateMs, Long totalMs, Integer form, String attemptsJson, String counterfactualText,
        String hash) {

    /** A form 1 record (no attempts, no counterfactual), as written before form 2. */
    public AuditEntry(long id, String tenant, long seq, String requestId, String recordedAt, String status,
            String modelName, String modelFingerprint, String policyId, String policyVersion, String appliedJson,
            String scoresJson, String decisionTraceJson, String outputText, String errorCode, String errorMessage,
            Long queueMs, Long generateMs, Long totalMs, String hash) {
        this(id, tenant, seq, requestId, recordedAt, status, modelName, modelFingerprint, policyId, policyVersion,
                appliedJson, scoresJson, decisionTraceJson, outputText, errorCode, errorMessage, queueMs, generateMs,
                totalMs, AuditChain.FORM_V1, null, null, hash);
    }

    /** The canonical form its hash covers. */
    public int canonicalForm() {
        return form == null ? AuditChain.FORM_V1 : form;
    }

    /** The same record with its hash. */
    AuditEntry withHash(String newHash) {
        return new AuditEntry(id, tenant, seq, requestId, recordedAt, status, modelName, modelFingerprint, policyId,
                policyVersion, appliedJson, scoresJson, decisionTraceJson, outputText, errorCode, errorMessage, queueMs,
                generateMs, totalMs, form, attemptsJson, counterfactualText, newHash);
    }
}
