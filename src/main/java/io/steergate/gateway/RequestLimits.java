package io.steergate.gateway;

/**
 * Limits applied to every request.
 *
 * @param promptChars   longest prompt in characters (UTF-16 code units, as Java counts them)
 * @param maxTokens     largest maxTokens a request may ask for
 * @param messageBytes  largest request message; larger ones are rejected before any field is read
 * @param listItems     most entries in styles, labels and steering each (each one is work for the policy engine and a
 *                      line of the stored decision trace)
 * @param nameChars     longest style, label key or intervention name
 * @param labelChars    longest label value
 */
public record RequestLimits(int promptChars, int maxTokens, int messageBytes, int listItems, int nameChars, int labelChars) {

    public static final int DEFAULT_MAX_TOKENS = 64;

    public RequestLimits {
        if (promptChars < 1 || maxTokens < 1 || messageBytes < 1 || listItems < 1 || nameChars < 1 || labelChars < 1) {
            throw new IllegalArgumentException("request limits must be positive: " + promptChars + ", " + maxTokens + ", "
                    + messageBytes + ", " + listItems + ", " + nameChars + ", " + labelChars);
        }
    }

    /** The given sizes, with the default caps on lists (16), names (64) and label values (256). */
    public RequestLimits(int promptChars, int maxTokens, int messageBytes) {
        this(promptChars, maxTokens, messageBytes, 16, 64, 256);
    }
}
