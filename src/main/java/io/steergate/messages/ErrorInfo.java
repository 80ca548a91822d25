package io.steergate.messages;

/**
 * A machine-readable code and a message that names the offending field or cause. The message is always stored,
 * published and logged, so it is kept {@link SafeText safe} and at most {@link #MAX_MESSAGE_CHARS} long whatever
 * the input that caused it.
 */
public record ErrorInfo(String code, String message) {

    public static final int MAX_MESSAGE_CHARS = 1_000;

    public ErrorInfo {
        message = SafeText.of(message, MAX_MESSAGE_CHARS);
    }

    public static ErrorInfo of(ErrorCode code, String message) {
        return new ErrorInfo(code.name(), message);
    }
}
