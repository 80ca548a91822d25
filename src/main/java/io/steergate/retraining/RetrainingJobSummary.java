package io.steergate.retraining;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.UUID;

/**
 * A retraining job as the HTTP API shows it; hyperparameters, progress and metrics are JSON objects. {@code error} is
 * why a FAILED job failed; {@code lastError} why its latest attempt ended without a result (also on a job that later
 * succeeded). {@code evaluation} is what the evaluation gate measures the candidate with (null: not evaluated),
 * {@code gate} its verdict (PASSED, REFUSED, null until evaluated) and {@code gateReport} the measurements behind it.
 * {@code lossHistory} is the loss curve, [[step, loss], ...] of at most 500 points ({@link LossHistory}); null for a
 * method without a loss, or before the first progress.
 */
public record RetrainingJobSummary(UUID id, String intervention, String kind, String description, String method,
        String source, String target, String sites, JsonNode hyperparameters, boolean promote, String status,
        int attempts, JsonNode progress, Integer resultVersion, JsonNode metrics, String error, String lastError,
        String requestedBy, Instant createdAt, Instant startedAt, Instant finishedAt, JsonNode evaluation, String gate,
        JsonNode gateReport, JsonNode lossHistory) {}
