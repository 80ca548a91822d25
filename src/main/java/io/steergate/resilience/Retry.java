package io.steergate.resilience;

import java.time.Duration;
import java.util.function.Supplier;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.logging.Logger;

/**
 * Runs a durable step until it succeeds or proves permanent. Transient failures ({@link Failures#isTransient}) are
 * retried with growing pauses for as long as they last, so an outage of any length only pauses the caller. A
 * failure that is not transient is tried {@link RetryPolicy#permanentAttempts()} times in all (a transient failure in
 * between does not count), then thrown as {@link PermanentFailure} for the caller to turn into an answer that says why.
 * The policy is read once from the configuration ({@code steergate.retry.*}, {@link RetryPolicy}) on first use.
 */
public final class Retry {

    private static final Logger LOG = Logger.getLogger(Retry.class);

    private Retry() {}

    /** Read on first use: static callers everywhere, one policy per process. */
    private static final class Configured {
        static final RetryPolicy POLICY = RetryPolicy.from(ConfigProvider.getConfig());
    }

    /** The policy in force. */
    public static RetryPolicy policy() {
        return Configured.POLICY;
    }

    /** The failure of a step that failed the same way as often as the policy allows with its dependencies up. */
    public static final class PermanentFailure extends RuntimeException {
        PermanentFailure(String what, RuntimeException cause) {
            super(what + " failed permanently: " + Failures.rootMessage(cause), cause);
        }
    }

    /** A dependency stayed away for longer than the caller could wait (a bounded {@link #within} call). */
    public static final class Unavailable extends RuntimeException {
        Unavailable(String what, Duration limit, RuntimeException cause) {
            super(what + ": a dependency is unavailable (still failing after " + limit.toSeconds() + " s: "
                    + Failures.rootMessage(cause) + ")", cause);
        }

        /** A transient failure met where nothing waits it out. */
        public Unavailable(String what, RuntimeException cause) {
            super(what + ": a dependency is unavailable (" + Failures.rootMessage(cause) + ")", cause);
        }
    }

    /** Runs {@code step} until it returns; see the class comment. Interrupted: throws IllegalStateException. */
    public static <T> T untilDone(String what, Supplier<T> step) {
        return run(what, step, Long.MAX_VALUE, null);
    }

    /**
     * As {@link #untilDone(String, Supplier)}, for a caller that is waiting (an HTTP request): transient failures are
     * waited out for at most {@code limit}, then thrown as {@link Unavailable}.
     */
    public static <T> T within(Duration limit, String what, Supplier<T> step) {
        return run(what, step, System.nanoTime() + limit.toNanos(), limit);
    }

    private static <T> T run(String what, Supplier<T> step, long deadlineNanos, Duration limit) {
        int permanent = 0;
        for (int attempt = 1; ; attempt++) {
            try {
                T value = step.get();
                if (attempt > 1) {
                    LOG.infof("%s succeeded after %d attempts", what, attempt);
                }
                return value;
            } catch (RuntimeException e) {
                boolean transientFailure = Failures.isTransient(e);
                if (!transientFailure && ++permanent >= policy().permanentAttempts()) {
                    throw new PermanentFailure(what, e);
                }
                if (limit != null && System.nanoTime() + pauseMs(attempt) * 1_000_000 - deadlineNanos > 0) {
                    throw new Unavailable(what, limit, e);
                }
                if (attempt == 1 || attempt % 30 == 0) {
                    LOG.warnf("%s failed (attempt %d, %s), retrying: %s", what, attempt,
                            transientFailure ? "transient" : "not yet permanent", Failures.rootMessage(e));
                }
                pause(attempt, what);
            }
        }
    }

    /** Runs {@code step} until it returns; see {@link #untilDone(String, Supplier)}. */
    public static void untilDone(String what, Runnable step) {
        untilDone(what, () -> {
            step.run();
            return null;
        });
    }

    /** The pause before attempt {@code attempt + 1}: the policy's first pause doubled per attempt, at most its max. */
    public static long pauseMs(int attempt) {
        return policy().pauseMs(attempt);
    }

    /**
     * The pause between two attempts of a loop that runs on its own thread and never gives up (the outbox relay, the
     * job loop). An interrupt ends the pause early and stays set, so the loop's next check or blocking call stops it.
     */
    public static void backOff(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void pause(int attempt, String what) {
        try {
            Thread.sleep(pauseMs(attempt));
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(what + " interrupted", interrupted);
        }
    }
}
