package io.steergate.resilience;

import java.time.Duration;
import java.util.Optional;
import org.eclipse.microprofile.config.Config;

/**
 * How {@link Retry} paces and judges a step, from {@code steergate.retry.*}: a failure that is not transient is tried
 * {@code permanent-attempts} times before it counts as permanent; the pause between attempts starts at
 * {@code first-pause} and doubles up to {@code max-pause}. Values that cannot work are refused at start, naming the
 * property.
 */
public record RetryPolicy(int permanentAttempts, Duration firstPause, Duration maxPause) {

    public static final String PREFIX = "steergate.retry.";
    public static final RetryPolicy DEFAULT = new RetryPolicy(3, Duration.ofMillis(50), Duration.ofSeconds(2));

    public RetryPolicy {
        if (permanentAttempts < 1) {
            throw new IllegalArgumentException(PREFIX + "permanent-attempts must be at least 1, got " + permanentAttempts);
        }
        if (firstPause == null || firstPause.isNegative() || firstPause.isZero()) {
            throw new IllegalArgumentException(PREFIX + "first-pause must be positive, got " + firstPause);
        }
        if (maxPause == null || maxPause.compareTo(firstPause) < 0) {
            throw new IllegalArgumentException(PREFIX + "max-pause must be at least first-pause (" + firstPause + "), got " + maxPause);
        }
    }

    /** The policy {@code config} sets; each property it leaves out keeps {@link #DEFAULT}'s value. */
    public static RetryPolicy from(Config config) {
        return new RetryPolicy(
                value(config, "permanent-attempts", Integer.class).orElse(DEFAULT.permanentAttempts),
                value(config, "first-pause", Duration.class).orElse(DEFAULT.firstPause),
                value(config, "max-pause", Duration.class).orElse(DEFAULT.maxPause));
    }

    private static <T> Optional<T> value(Config config, String name, Class<T> type) {
        return config.getOptionalValue(PREFIX + name, type);
    }

    /** The pause before attempt {@code attempt + 1}: first-pause doubled per attempt, at most max-pause. */
    long pauseMs(int attempt) {
        return Math.min(maxPause.toMillis(), firstPause.toMillis() << Math.min(Math.max(attempt, 1), 10));
    }
}
