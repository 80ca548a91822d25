package io.steergate.messages;

/**
 * Internal message on {@code steer.job-cancels} (keyed by the job key): the client of a streamed job went away, so a
 * worker running or holding the job stops it and answers FAILED {@link ErrorCode#CANCELLED} with what it generated.
 * Best effort: a worker that misses it generates the job to its end. {@code reason} is for logs only.
 */
public record JobCancel(String requestId, String reason) {
}
