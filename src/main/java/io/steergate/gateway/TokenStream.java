package io.steergate.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The pieces of text the workers published for one streamed request ({@link io.steergate.messages.JobTokens}), per
 * escalation attempt, as {@link JobTokenFeed} received them. A piece is taken only in order: one that starts before
 * what an attempt already has is dropped (a redelivered job generates the same tokens again), one that starts after it
 * marks the attempt {@linkplain #gapped gapped} (a piece was lost): it is forwarded no further and the stream ends
 * from the stored result's text, the only authority. Thread-safe: the feed offers, one HTTP thread takes.
 */
public final class TokenStream {

    private final long row;
    private final long createdNanos;
    private final int maxChars;
    private final Map<Integer, Attempt> attempts = new HashMap<>();
    private boolean woken;
    private boolean attached;

    /** What one attempt's pieces amount to so far. */
    private static final class Attempt {
        final List<String> pieces = new ArrayList<>();
        int nextToken;
        int chars;
        boolean gapped;
    }

    TokenStream(long row, long createdNanos, int maxChars) {
        this.row = row;
        this.createdNanos = createdNanos;
        this.maxChars = maxChars;
    }

    long row() {
        return row;
    }

    /** A piece of attempt {@code attempt}: {@code tokens} tokens from token {@code index} on, decoding to {@code text}. */
    synchronized void offer(int attempt, int index, int tokens, String text) {
        if (tokens < 1 || text == null || index < 0) {
            return;
        }
        Attempt at = attempts.computeIfAbsent(attempt, a -> new Attempt());
        if (at.gapped || index < at.nextToken) {
            return;
        }
        if (index > at.nextToken || at.chars + text.length() > maxChars) {
            // a piece is missing (or the attempt outgrows any real output): its text comes from the result instead
            at.gapped = true;
            at.pieces.clear();
        } else {
            at.pieces.add(text);
            at.nextToken = index + tokens;
            at.chars += text.length();
        }
        notifyAll();
    }

    /**
     * The pieces of {@code attempt} from the {@code from}-th on, waiting up to {@code wait} for one if there is none
     * yet; empty when none came in time, when the attempt is gapped, or when {@link #wake} was called (the outcome is in).
     */
    public synchronized List<String> await(int attempt, int from, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            Attempt at = attempts.get(attempt);
            if (at != null && !at.gapped && at.pieces.size() > from) {
                return List.copyOf(at.pieces.subList(from, at.pieces.size()));
            }
            long left = deadline - System.nanoTime();
            if (woken || left <= 0 || (at != null && at.gapped)) {
                woken = false;
                return List.of();
            }
            long millis = Math.max(1, left / 1_000_000);
            wait(millis);
        }
    }

    /** Ends a pending {@link #await} now: the outcome arrived, or the stream is closing. */
    public synchronized void wake() {
        woken = true;
        notifyAll();
    }

    /** Whether a piece of {@code attempt} was lost, so its text cannot be told from its pieces. */
    public synchronized boolean gapped(int attempt) {
        Attempt at = attempts.get(attempt);
        return at != null && at.gapped;
    }

    /** All pieces of {@code attempt} in order; empty when it is gapped or none arrived. */
    public synchronized Optional<List<String>> pieces(int attempt) {
        Attempt at = attempts.get(attempt);
        return at == null || at.gapped ? Optional.empty() : Optional.of(List.copyOf(at.pieces));
    }

    synchronized boolean attach() {
        if (attached) {
            return false;
        }
        attached = true;
        return true;
    }

    /** Whether it was expected before {@code unattachedBefore} and nobody attached, or before {@code attachedBefore}. */
    synchronized boolean expired(long unattachedBefore, long attachedBefore) {
        return createdNanos - (attached ? attachedBefore : unattachedBefore) <= 0;
    }
}
