package io.steergate.retraining;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * A retraining trigger's firing over HTTP: the trigger as it was, the tenants measured, the evidence (counts, rate,
 * window, violating audit record ids), the job and version it led to, and every step with its numbers.
 */
public record TriggerFiringView(UUID id, String policy, String policyVersion, String trigger, String intervention,
        String status, JsonNode definition, JsonNode scope, JsonNode evidence, Integer previousVersion, String sourceSet,
        String targetSet, UUID jobId, Integer resultVersion, Instant promotedAt, String error, Instant firedAt,
        Instant updatedAt, List<Step> steps) {

    public record Step(String step, JsonNode detail, Instant recordedAt) {}
}
