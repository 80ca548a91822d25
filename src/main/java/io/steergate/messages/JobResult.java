package io.steergate.messages;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;

/**
 * Internal message on {@code steer.job-results} (keyed by the job's key, {@link Job#requestId()}): what a worker produced
 * for one job. {@code counterfactualText} is the unsteered continuation when the job asked for one, else null;
 * {@code counterfactualTokens} the completion tokens its row generated (null or 0 when no row was generated for it:
 * none asked, or the job's plan folds to nothing and the steered text is its own counterfactual). The gateway charges
 * them to the tenant with {@code usage}'s. {@code probeScores} holds, by scorer name, the probability each of the job's
 * {@link Job#probes()} gave the steered output; null when the job asked for none (a probe that could not be evaluated
 * is absent, the worker says why).
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
        Integer counterfactualTokens,
        @JsonInclude(JsonInclude.Include.NON_NULL) Map<String, Double> probeScores) {

    /** A result without a counterfactual row of its own and without probe scores. */
    public JobResult(String requestId, GenerationResult.Status status, String text, ModelRef model,
            GenerationResult.Usage usage, long queueMs, long generateMs, ErrorInfo error, String counterfactualText) {
        this(requestId, status, text, model, usage, queueMs, generateMs, error, counterfactualText, null, null);
    }
}
