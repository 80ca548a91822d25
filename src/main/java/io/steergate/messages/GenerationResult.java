package io.steergate.messages;

import java.util.List;
import java.util.Map;

/** The outcome of one request, as published on {@code steer.results} and stored with the generation (docs/architecture.md 4.2). */
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
        ErrorInfo error) {

    public enum Status { COMPLETED, REJECTED, FAILED }

    public record Usage(int promptTokens, int completionTokens) {}

    public record Timings(long queueMs, long generateMs, long totalMs) {}

    /** A request refused before generation; {@code policy} is the deciding policy, or null when none was consulted. */
    public static GenerationResult rejected(String id, String tenant, PolicyRef policy, ErrorInfo error, long totalMs) {
        return new GenerationResult(id, tenant, Status.REJECTED, null, null, policy, List.of(), Map.of(),
                new Usage(0, 0), new Timings(0, 0, totalMs), error);
    }
}
