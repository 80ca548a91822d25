package io.steergate.messages;

/**
 * Internal message on {@code steer.job-tokens} (keyed by the job key, so one job's pieces stay in order): a piece of the
 * text a worker is generating for a job with {@link Job#stream()}. {@code index} is the 0-based index of the first
 * generated token the piece covers and {@code tokens} how many it covers (more than one when a character spans tokens);
 * {@code text} is the new text. Best effort: a gateway that misses a piece finishes its stream from the
 * {@link JobResult}, which stays the only authority.
 */
public record JobTokens(String requestId, int index, int tokens, String text) {
}
