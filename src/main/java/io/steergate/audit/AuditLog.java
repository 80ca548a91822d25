package io.steergate.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.messages.GenerationResult;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.time.Instant;

/** Writes the audit record of an outcome, inside the transaction that makes the outcome durable. */
@ApplicationScoped
public class AuditLog {

    @Inject
    ObjectMapper json;

    /**
     * @param result the outcome as published
     * @param decisionTraceJson how the policy decided (a JSON array of lines), or null when no policy was consulted
     */
    @Transactional(Transactional.TxType.MANDATORY)
    public void record(GenerationResult result, String decisionTraceJson) {
        AuditRecord record = new AuditRecord();
        record.requestId = result.id();
        record.tenant = result.tenant();
        record.status = result.status().name();
        if (result.model() != null) {
            record.modelName = result.model().name();
            record.modelFingerprint = result.model().fingerprint();
        }
        if (result.policy() != null) {
            record.policyId = result.policy().id();
            record.policyVersion = result.policy().version();
        }
        record.appliedJson = write(result.applied());
        record.scoresJson = write(result.scores());
        record.decisionTraceJson = decisionTraceJson;
        record.outputText = result.text();
        if (result.error() != null) {
            record.errorCode = result.error().code();
            record.errorMessage = result.error().message();
        }
        if (result.timings() != null) {
            record.queueMs = result.timings().queueMs();
            record.generateMs = result.timings().generateMs();
            record.totalMs = result.timings().totalMs();
        }
        record.recordedAt = Instant.now();
        record.persist();
    }

    private String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("audit field must serialise as JSON", e);
        }
    }
}
