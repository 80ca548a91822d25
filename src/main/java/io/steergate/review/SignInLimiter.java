package io.steergate.review;

import io.steergate.messages.SafeText;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.jboss.logging.Logger;

/**
 * Limits failed sign-ins to /review, per client address and over all addresses: two token buckets, each failed
 * sign-in taking a token, tokens coming back at a fixed rate. While a bucket is empty every sign-in from that address
 * (or from anywhere, for the overall bucket) is refused before the key is looked at, with the time until a token is
 * back. A successful sign-in forgives its address's failures (a reviewer who mistyped is not kept waiting later).
 * Memory is bounded: an address is tracked only while its bucket is not full, and at most
 * {@code steergate.review.sign-in-limit.addresses} of them, the least recently seen dropped first. One log line when
 * a bucket runs empty; never a key.
 */
@Singleton
public class SignInLimiter {

    private static final Logger LOG = Logger.getLogger(SignInLimiter.class);

    private static final class Bucket {
        double tokens;
        long at;
        boolean empty;

        Bucket(double tokens, long at) {
            this.tokens = tokens;
            this.at = at;
        }
    }

    private final int perAddress;
    private final long perAddressRefillNanos;
    private final int overall;
    private final long overallRefillNanos;
    private final LongSupplier nanos;
    private final Map<String, Bucket> addresses;
    private final Bucket all;

    @Inject
    SignInLimiter(ReviewConfig config) {
        this(config.signInLimit().failuresPerAddress(), config.signInLimit().addressRefill(),
                config.signInLimit().failuresOverall(), config.signInLimit().overallRefill(),
                config.signInLimit().addresses(), System::nanoTime);
    }

    /**
     * @param perAddress   failed sign-ins an address may make in a burst
     * @param addressRefill how long an address waits for one more
     * @param overall      failed sign-ins all addresses together may make in a burst
     * @param overallRefill how long all wait for one more
     * @param tracked      addresses tracked at most
     */
    SignInLimiter(int perAddress, Duration addressRefill, int overall, Duration overallRefill, int tracked,
            LongSupplier nanos) {
        this.perAddress = perAddress;
        this.perAddressRefillNanos = addressRefill.toNanos();
        this.overall = overall;
        this.overallRefillNanos = overallRefill.toNanos();
        this.nanos = nanos;
        this.all = new Bucket(overall, nanos.getAsLong());
        this.addresses = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
                return size() > tracked;
            }
        };
    }

    /** Empty when {@code address} may try to sign in now; otherwise how long until it may (whole seconds, at least 1). */
    public synchronized Optional<Duration> refusal(String address) {
        long now = nanos.getAsLong();
        refill(all, overall, overallRefillNanos, now);
        Bucket own = addresses.get(address);
        if (own != null && refill(own, perAddress, perAddressRefillNanos, now)) {
            addresses.remove(address);
            own = null;
        }
        long wait = Math.max(waitNanos(all, overallRefillNanos), own == null ? 0 : waitNanos(own, perAddressRefillNanos));
        // whole seconds, rounded up, but not for the rounding error of the refill arithmetic (under a millisecond)
        return wait == 0 ? Optional.empty()
                : Optional.of(Duration.ofSeconds(Math.max(1, (wait - 1_000_000 + 999_999_999) / 1_000_000_000)));
    }

    /** A sign-in from {@code address} was refused: it takes a token of its address and of all. */
    public synchronized void failed(String address) {
        long now = nanos.getAsLong();
        Bucket own = addresses.computeIfAbsent(address, a -> new Bucket(perAddress, now));
        refill(own, perAddress, perAddressRefillNanos, now);
        refill(all, overall, overallRefillNanos, now);
        take(own, "review sign-in limited for client " + SafeText.of(address, 64) + ": " + perAddress + " failed sign-ins; one more every "
                + seconds(perAddressRefillNanos));
        take(all, "review sign-in limited for every client: " + overall + " failed sign-ins; one more every "
                + seconds(overallRefillNanos));
    }

    /** A sign-in from {@code address} succeeded: its failures are forgiven. */
    public synchronized void succeeded(String address) {
        addresses.remove(address);
    }

    /** Addresses tracked now (each with failures not yet made up for). */
    synchronized int tracked() {
        return addresses.size();
    }

    private static void take(Bucket bucket, String limited) {
        bucket.tokens = Math.max(0, bucket.tokens - 1);
        if (bucket.tokens < 1 && !bucket.empty) {
            bucket.empty = true;
            LOG.warn(limited);
        }
    }

    /** Tokens back since the bucket was last seen; whether it is full. */
    private static boolean refill(Bucket bucket, int capacity, long refillNanos, long now) {
        bucket.tokens = Math.min(capacity, bucket.tokens + (double) (now - bucket.at) / refillNanos);
        bucket.at = now;
        if (bucket.tokens >= 1) {
            bucket.empty = false;
        }
        return bucket.tokens >= capacity;
    }

    private static long waitNanos(Bucket bucket, long refillNanos) {
        return bucket.tokens >= 1 ? 0 : (long) Math.ceil((1 - bucket.tokens) * refillNanos);
    }

    private static String seconds(long nanos) {
        return String.format(java.util.Locale.ROOT, "%.1f s", nanos / 1e9);
    }
}
