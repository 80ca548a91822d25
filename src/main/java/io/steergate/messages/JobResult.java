package io.steergate.messages;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;

/**
 * Internal message on {@code steer.job-results} (keyed by the job's key, {@link Job#requestId()}): what a worker produced
 * for one job. {@code counterfactualText} is the unsteered continuation when the job asked for one, else null.
 * {@code probeScores} holds, by scorer name, the probability each of the job's {@link Job#probes()} gave the steered
 * output; null when the job asked for none (a probe that could not be evaluated is absent, the worker says why).
 */
public record JobResult(
        String requestId,
        GenerationResult.Status status,
        String text,
        ModelRef model,
        GenerationResult.Usage usage,
        long queueMs,
        long generateMs,
        ErrorInfo error,
        String counterfactualText,
        @JsonInclude(JsonInclude.Include.NON_NULL) Map<String, Double> probeScores) {

    /** A result without probe scores. */
    public JobResult(String requestId, GenerationResult.Status status, String text, ModelRef model,
            GenerationResult.Usage usage, long queueMs, long generateMs, ErrorInfo error, String counterfactualText) {
        this(requestId, status, text, model, usage, queueMs, generateMs, error, counterfactualText, null);
    }
}
