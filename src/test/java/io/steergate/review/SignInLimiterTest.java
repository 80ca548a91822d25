package io.steergate.review;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SignInLimiterTest {

    final AtomicLong clock = new AtomicLong(1_000_000_000L);

    SignInLimiter limiter(int perAddress, int overall, int tracked) {
        return new SignInLimiter(perAddress, Duration.ofSeconds(6), overall, Duration.ofSeconds(1), tracked, clock::get);
    }

    void advance(Duration by) {
        clock.addAndGet(by.toNanos());
    }

    @Test
    void anAddressThatUsedItsBurstWaitsForATokenWhileOthersMayStillTry() {
        SignInLimiter limiter = limiter(3, 100, 100);
        for (int i = 0; i < 3; i++) {
            assertEquals(Optional.empty(), limiter.refusal("10.0.0.1"));
            limiter.failed("10.0.0.1");
        }
        assertEquals(Optional.of(Duration.ofSeconds(6)), limiter.refusal("10.0.0.1"));
        assertEquals(Optional.empty(), limiter.refusal("10.0.0.2"));
        advance(Duration.ofSeconds(4));
        assertEquals(Optional.of(Duration.ofSeconds(2)), limiter.refusal("10.0.0.1"));
        advance(Duration.ofSeconds(2));
        assertEquals(Optional.empty(), limiter.refusal("10.0.0.1"));
        // one token came back: one more failure empties the bucket again
        limiter.failed("10.0.0.1");
        assertEquals(Optional.of(Duration.ofSeconds(6)), limiter.refusal("10.0.0.1"));
    }

    @Test
    void manyAddressesTogetherHitTheOverallLimit() {
        SignInLimiter limiter = limiter(3, 5, 100);
        for (int i = 0; i < 5; i++) {
            limiter.failed("10.0.1." + i);
        }
        assertEquals(Optional.of(Duration.ofSeconds(1)), limiter.refusal("10.0.9.9"), "a fresh address waits too");
        advance(Duration.ofSeconds(1));
        assertEquals(Optional.empty(), limiter.refusal("10.0.9.9"));
    }

    @Test
    void aSuccessForgivesTheAddressAndAFullBucketIsNoLongerTracked() {
        SignInLimiter limiter = limiter(2, 100, 100);
        limiter.failed("10.0.0.1");
        limiter.failed("10.0.0.1");
        assertTrue(limiter.refusal("10.0.0.1").isPresent());
        limiter.succeeded("10.0.0.1");
        assertEquals(Optional.empty(), limiter.refusal("10.0.0.1"));
        assertEquals(0, limiter.tracked());

        limiter.failed("10.0.0.3");
        assertEquals(1, limiter.tracked());
        advance(Duration.ofSeconds(6));
        limiter.refusal("10.0.0.3");
        assertEquals(0, limiter.tracked(), "made up for: dropped");
    }

    @Test
    void memoryIsBoundedByDroppingTheLeastRecentAddress() {
        SignInLimiter limiter = limiter(1, 1_000_000, 3);
        for (int i = 0; i < 10; i++) {
            limiter.failed("10.0.2." + i);
        }
        assertEquals(3, limiter.tracked());
        assertTrue(limiter.refusal("10.0.2.9").isPresent(), "the latest is still limited");
        assertEquals(Optional.empty(), limiter.refusal("10.0.2.0"), "the eldest was forgotten");
    }
}
