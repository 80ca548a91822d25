package io.steergate.engine.model;

import java.util.Map;
import java.util.Objects;

/**
 * The result of one row of a generation.
 *
 * @param text the completion only, without the prompt
 * @param promptTokens prompt length in tokens, BOS included
 * @param completionTokens tokens generated, the terminating EOS/BOS not counted
 * @param stopReason why the row stopped
 * @param pooled the row's activations at the sites it asked to pool ({@link GeneratedPooling}), by site index; empty
 *     when it asked for none or generated nothing
 */
public record Completion(String text, int promptTokens, int completionTokens, StopReason stopReason,
        Map<Integer, float[]> pooled) {

    public Completion {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(stopReason, "stopReason");
        if (promptTokens < 0 || completionTokens < 0) {
            throw new IllegalArgumentException("token counts must not be negative");
        }
        pooled = pooled == null ? Map.of() : Map.copyOf(pooled);
    }

    /** A completion that pooled nothing. */
    public Completion(String text, int promptTokens, int completionTokens, StopReason stopReason) {
        this(text, promptTokens, completionTokens, stopReason, Map.of());
    }
}
