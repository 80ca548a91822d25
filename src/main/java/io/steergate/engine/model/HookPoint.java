package io.steergate.engine.model;

import java.util.Arrays;
import java.util.function.ToIntFunction;
import java.util.stream.Collectors;

/**
 * The hook points of one decoder layer of {@link LlamaModel}, in forward order: the one vocabulary of points. Each
 * knows its wire name (site names {@code layers.<i>.<point>}, map files, {@code steer fit --sites}) and how the model
 * computes its width; every point of this architecture is {@code dim} wide today, but a check or a fit asks the point.
 */
public enum HookPoint {
    /** Output of the pre-attention RMSNorm, (B, T, dim). */
    ATTN_NORM("attn_norm", LlamaConfig::dim),
    /** Attention output (after wo) before the residual add, (B, T, dim). */
    ATTN_OUT("attn_out", LlamaConfig::dim),
    /** Output of the pre-FFN RMSNorm, (B, T, dim). */
    MLP_NORM("mlp_norm", LlamaConfig::dim),
    /** FFN output (after w2) before the residual add, (B, T, dim). */
    MLP_OUT("mlp_out", LlamaConfig::dim),
    /** The residual stream after the block, (B, T, dim). */
    RESID("resid", LlamaConfig::dim);

    private final String wireName;
    private final ToIntFunction<LlamaConfig> width;

    HookPoint(String wireName, ToIntFunction<LlamaConfig> width) {
        this.wireName = wireName;
        this.width = width;
    }

    /** The name in site names and files, e.g. {@code attn_norm}. */
    public String wireName() {
        return wireName;
    }

    /** The activation's last dimension at this point in a model of {@code config}: what a map there must match. */
    public int width(LlamaConfig config) {
        return width.applyAsInt(config);
    }

    /** The point's slot within a layer of the model's hooks array (its forward order). */
    public int slot() {
        return ordinal();
    }

    /** The point named {@code name} (its wire name). */
    public static HookPoint parse(String name) {
        for (HookPoint p : values()) {
            if (p.wireName.equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown hook point '" + name + "'; expected one of "
                + Arrays.stream(values()).map(HookPoint::wireName).collect(Collectors.joining(", ")));
    }
}
