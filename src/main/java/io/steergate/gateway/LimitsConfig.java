package io.steergate.gateway;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/** Request limits, under the names docs/architecture.md 4.2 gives them ({@code steergate.limits.*}). */
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

    /** Most entries in each of styles, labels and steering. */
    @WithName("list-items")
    @WithDefault("16")
    int listItems();

    /** Longest style, label key or intervention name. */
    @WithName("name-chars")
    @WithDefault("64")
    int nameChars();

    /** Longest label value. */
    @WithName("label-chars")
    @WithDefault("256")
    int labelChars();

    default RequestLimits toLimits() {
        return new RequestLimits(promptChars(), maxTokens(), messageBytes(), listItems(), nameChars(), labelChars());
    }
}
