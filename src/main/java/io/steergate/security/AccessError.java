package io.steergate.security;

import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;

/** A refused request about credentials, keys or tenants: the HTTP status and the error that names the problem. */
public class AccessError extends RuntimeException {

    private final int status;
    private final ErrorInfo error;

    public AccessError(int status, ErrorCode code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.error = ErrorInfo.of(code, message);
    }

    static AccessError badField(String name, String why) {
        return new AccessError(400, ErrorCode.INVALID_REQUEST, name + ": " + why);
    }

    public int status() {
        return status;
    }

    public ErrorInfo error() {
        return error;
    }
}
