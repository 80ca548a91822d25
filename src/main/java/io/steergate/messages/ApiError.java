package io.steergate.messages;

/**
 * A refused request: the HTTP status and the error that names the problem (the parameter or field, the missing
 * thing, the conflict). Expected, so app.ErrorMapper answers it as {@code {code, message}} and logs one line
 * without a trace; the exception carries no stack trace either.
 */
public class ApiError extends RuntimeException {

    private final int status;
    private final ErrorInfo error;

    public ApiError(int status, ErrorCode code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.error = ErrorInfo.of(code, message);
    }

    /** 400 INVALID_REQUEST naming the parameter or body field: "{name}: {why}". */
    public static ApiError badField(String name, String why) {
        return new ApiError(400, ErrorCode.INVALID_REQUEST, name + ": " + why);
    }

    /** 404 NOT_FOUND: "{what}: not found". */
    public static ApiError notFound(String what) {
        return new ApiError(404, ErrorCode.NOT_FOUND, what + ": not found");
    }

    public int status() {
        return status;
    }

    public ErrorInfo error() {
        return error;
    }
}
