package io.steergate.messages;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/**
 * The outcome of one request, as published on {@code steer.results} and stored with the generation (docs/architecture.md 4.2).
 * {@code flagged} names the policy's scorers over their thresholds on a delivered text (absent when none is);
 * {@code counterfactual} is the unsteered continuation, present only when the policy's rule delivers it.
 */
public record GenerationResult(
        String id,
        String tenant,
        Status status,
        String text,
        ModelRef model,
        PolicyRef policy,
        List<AppliedIntervention> applied,
        Map<String, Double> scores,
        Usage usage,
        Timings timings,
        ErrorInfo error,
        @JsonInclude(JsonInclude.Include.NON_NULL) List<String> flagged,
        @JsonInclude(JsonInclude.Include.NON_NULL) String counterfactual) {

    /** A result without flags and without a counterfactual. */
    public GenerationResult(String id, String tenant, Status status, String text, ModelRef model, PolicyRef policy,
            List<AppliedIntervention> applied, Map<String, Double> scores, Usage usage, Timings timings, ErrorInfo error) {
        this(id, tenant, status, text, model, policy, applied, scores, usage, timings, error, null, null);
    }

    public enum Status { COMPLETED, REJECTED, FAILED }

    public record Usage(int promptTokens, int completionTokens) {}

    public record Timings(long queueMs, long generateMs, long totalMs) {}

    /** A request refused before generation; {@code policy} is the deciding policy, or null when none was consulted. */
    public static GenerationResult rejected(String id, String tenant, PolicyRef policy, ErrorInfo error, long totalMs) {
        return new GenerationResult(id, tenant, Status.REJECTED, null, null, policy, List.of(), Map.of(),
                new Usage(0, 0), new Timings(0, 0, totalMs), error);
    }
}
