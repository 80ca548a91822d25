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
}
