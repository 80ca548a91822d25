package io.steergate.engine.model;

import java.util.Objects;

/**
 * The result of one row of a generation.
 *
 * @param text the completion only, without the prompt
 * @param promptTokens prompt length in tokens, BOS included
 * @param completionTokens tokens generated, the terminating EOS/BOS not counted
 * @param stopReason why the row stopped
 */
public record Completion(String text, int promptTokens, int completionTokens, StopReason stopReason) {

    public Completion {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(stopReason, "stopReason");
        if (promptTokens < 0 || completionTokens < 0) {
            throw new IllegalArgumentException("token counts must not be negative");
        }
    }
}
