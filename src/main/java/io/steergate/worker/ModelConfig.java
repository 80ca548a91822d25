package io.steergate.worker;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import io.steergate.engine.model.DecodePath;
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

    /**
     * Where generation runs: auto (plain Java loops on the CPU, DJL NDArrays on a GPU), loops (the CPU only) or
     * ndarray (DJL on any device; on the CPU it only draws even with the loops at batch 32 and long contexts,
     * BENCHMARKS.md).
     */
    @WithName("decode-path")
    @WithDefault("auto")
    DecodePath decodePath();

    /** Fetch the default model's original files (sha256-checked) when the directory lacks them. Never in tests. */
    @WithDefault("true")
    boolean download();
}
