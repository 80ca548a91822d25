package io.steergate.messages;

/**
 * Internal message on {@code steer.job-results} (keyed by the job's key, {@link Job#requestId()}): what a worker produced
 * for one job. {@code counterfactualText} is the unsteered continuation when the job asked for one, else null.
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
        String counterfactualText) {}
