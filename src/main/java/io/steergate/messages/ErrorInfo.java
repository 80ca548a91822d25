package io.steergate.messages;

/** A machine-readable code and a message that names the offending field or cause. */
public record ErrorInfo(String code, String message) {

    public static ErrorInfo of(ErrorCode code, String message) {
        return new ErrorInfo(code.name(), message);
    }
}
