package io.steergate.messages;

import java.time.Instant;
import java.time.format.DateTimeParseException;

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

    /**
     * The ISO-8601 instant {@code value} of parameter or field {@code name}. Java parses years far outside what
     * PostgreSQL's timestamptz holds (+300000-01-01T00:00:00Z), which would fail in the database as a 500; so only
     * years 1 to 9999 are taken.
     *
     * @throws ApiError 400 naming the field, with {@code example} as the form to use
     */
    public static Instant instantField(String name, String value, String example) {
        Instant parsed;
        try {
            parsed = Instant.parse(value);
        } catch (DateTimeParseException e) {
            throw badField(name, "must be an ISO-8601 instant such as " + example);
        }
        if (parsed.isBefore(EARLIEST_INSTANT) || parsed.isAfter(LATEST_INSTANT)) {
            throw badField(name, "must lie in the years 1 to 9999");
        }
        return parsed;
    }

    /**
     * The whole number {@code value} of parameter {@code name}, from {@code min} to {@code max}. Taken as a string:
     * a typed JAX-RS parameter that does not convert is answered 404, as if the path did not exist.
     *
     * @throws ApiError 400 naming the parameter and the range
     */
    public static int wholeNumberField(String name, String value, int min, int max) {
        try {
            int parsed = Integer.parseInt(value);
            if (parsed >= min && parsed <= max) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // answered below, like a number out of range
        }
        throw badField(name, "must be a whole number from " + min + " to " + max);
    }

    /**
     * The text {@code value} of parameter or field {@code name} (null stays null), if PostgreSQL can store it: it
     * refuses U+0000 in text, and a value that reached it would fail there as a 500 with a stack trace.
     *
     * @throws ApiError 400 "{name}: must not contain U+0000"
     */
    public static String textField(String name, String value) {
        if (value != null && value.indexOf('\u0000') >= 0) {
            throw badField(name, "must not contain U+0000");
        }
        return value;
    }

    /** The first and last instants {@link #instantField} takes. */
    public static final Instant EARLIEST_INSTANT = Instant.parse("0001-01-01T00:00:00Z");
    public static final Instant LATEST_INSTANT = Instant.parse("9999-12-31T23:59:59Z");

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
