package io.steergate.gateway;

import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * Runs a durable step until it succeeds. A listener must not ack a message whose outcome is not stored, and must not
 * stop consuming either: while the database is away it waits here (with growing pauses) and resumes when it is back.
 * A unique-key race on a request id (two copies accepted at once) also lands here: the retry sees the stored row.
 */
final class DatabaseRetry {

    private static final Logger LOG = Logger.getLogger(DatabaseRetry.class);
    private static final long MAX_PAUSE_MS = 5_000;

    private DatabaseRetry() {}

    static <T> T untilStored(String what, Supplier<T> step) {
        for (int attempt = 1; ; attempt++) {
            try {
                return step.get();
            } catch (RuntimeException e) {
                if (attempt == 1 || attempt % 20 == 0) {
                    LOG.warnf("%s failed (attempt %d), retrying: %s", what, attempt, rootMessage(e));
                }
                try {
                    Thread.sleep(Math.min(MAX_PAUSE_MS, 50L << Math.min(attempt, 7)));
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(what + " interrupted", interrupted);
                }
            }
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }
}
