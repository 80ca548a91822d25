package io.steergate.gateway;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/** Request limits, under the names DESIGN.md gives them ({@code steergate.limits.*}). */
@ConfigMapping(prefix = "steergate.limits")
public interface LimitsConfig {

    @WithName("prompt-chars")
    @WithDefault("8000")
    int promptChars();

    @WithName("max-tokens")
    @WithDefault("512")
    int maxTokens();

    /** Requests larger than this are rejected before their fields are read. */
    @WithName("message-bytes")
    @WithDefault("1048576")
    int messageBytes();

    default RequestLimits toLimits() {
        return new RequestLimits(promptChars(), maxTokens(), messageBytes());
    }
}
