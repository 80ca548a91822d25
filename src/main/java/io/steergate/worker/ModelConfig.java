package io.steergate.worker;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;

/** Which model the worker serves ({@code steergate.model.*}). */
@ConfigMapping(prefix = "steergate.model")
public interface ModelConfig {

    /** Directory with the llama2.c checkpoint and its tokenizer. */
    @WithDefault("../shared/models/stories260K")
    Path dir();

    /** auto (a GPU when DJL finds one), cpu or gpu. */
    @WithDefault("auto")
    String device();

    /** Fetch the default model's original files (sha256-checked) when the directory lacks them. Never in tests. */
    @WithDefault("true")
    boolean download();
}
