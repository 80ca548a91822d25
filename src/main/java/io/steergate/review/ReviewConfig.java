package io.steergate.review;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** steergate.review.*: the reviewers' web UI (README "Review UI"). */
@ConfigMapping(prefix = "steergate.review")
public interface ReviewConfig {

    /** How long a sign-in lasts (the session also ends with its API key). */
    @WithDefault("PT8H")
    Duration sessionLifetime();

    /**
     * Whether the session cookie is marked Secure (sent over HTTPS only). Off for the embedded default, which serves
     * plain HTTP on loopback; turn it on behind a TLS-terminating proxy.
     */
    @WithDefault("false")
    boolean secureCookie();

    /** How long a record handed to a reviewer stays theirs before another may take it. */
    @WithDefault("PT15M")
    Duration assignmentTtl();

    /** Only records this recent are queued and charted (bounds every scan). */
    @WithDefault("P30D")
    Duration window();

    /** How many failed sign-ins are allowed before sign-in answers 429 ({@link SignInLimiter}). */
    SignInLimit signInLimit();

    interface SignInLimit {

        /** Failed sign-ins one client address may make in a burst. */
        @WithDefault("10")
        int failuresPerAddress();

        /** How long an address waits for one more try once its burst is used. */
        @WithDefault("PT6S")
        Duration addressRefill();

        /** Failed sign-ins all addresses together may make in a burst (many addresses guessing at once). */
        @WithDefault("100")
        int failuresOverall();

        @WithDefault("PT0.1S")
        Duration overallRefill();

        /** Client addresses tracked at most (those with failures not yet made up for); the least recent goes first. */
        @WithDefault("10000")
        int addresses();
    }
}
