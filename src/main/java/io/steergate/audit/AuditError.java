package io.steergate.audit;

import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;

/** A refused audit query or review: the HTTP status and the error that names the parameter or field. */
public class AuditError extends RuntimeException {

    private final int status;
    private final ErrorInfo error;

    public AuditError(int status, ErrorCode code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.error = ErrorInfo.of(code, message);
    }

    static AuditError badParameter(String name, String why) {
        return new AuditError(400, ErrorCode.INVALID_REQUEST, name + ": " + why);
    }

    static AuditError notFound(long id) {
        return new AuditError(404, ErrorCode.NOT_FOUND, "audit record " + id + ": not found");
    }

    public int status() {
        return status;
    }

    public ErrorInfo error() {
        return error;
    }
}
