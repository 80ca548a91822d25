package io.steergate.intervention;

import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;

/** A refused registry operation: the HTTP status and the error that names why. Expected, so logged without a trace. */
public class RegistryError extends RuntimeException {

    private final int status;
    private final ErrorInfo error;

    public RegistryError(int status, ErrorCode code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.error = ErrorInfo.of(code, message);
    }

    public int status() {
        return status;
    }

    public ErrorInfo error() {
        return error;
    }
}
