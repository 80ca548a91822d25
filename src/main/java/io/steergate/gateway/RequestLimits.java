package io.steergate.gateway;

/**
 * Limits applied to every request.
 *
 * @param promptChars   longest prompt in characters (UTF-16 code units, as Java counts them)
 * @param maxTokens     largest maxTokens a request may ask for
 * @param messageBytes  largest request message; larger ones are rejected before any field is read
 */
public record RequestLimits(int promptChars, int maxTokens, int messageBytes) {

    public static final int DEFAULT_MAX_TOKENS = 64;

    public RequestLimits {
        if (promptChars < 1 || maxTokens < 1 || messageBytes < 1) {
            throw new IllegalArgumentException("request limits must be positive: " + promptChars + ", " + maxTokens + ", " + messageBytes);
        }
    }
}
