package io.steergate.engine.steering;

import io.steergate.engine.model.SiteHook;
import java.util.Arrays;
import java.util.stream.Collectors;

/** The hook points of one decoder layer, in forward order; each has width dim in this architecture. */
public enum HookPoint {
    /** Output of the pre-attention RMSNorm. */
    ATTN_NORM("attn_norm", SiteHook.ATTN_NORM),
    /** Attention output before the residual add. */
    ATTN_OUT("attn_out", SiteHook.ATTN_OUT),
    /** Output of the pre-FFN RMSNorm. */
    MLP_NORM("mlp_norm", SiteHook.MLP_NORM),
    /** FFN output before the residual add. */
    MLP_OUT("mlp_out", SiteHook.MLP_OUT),
    /** The residual stream after the block. */
    RESID("resid", SiteHook.RESID);

    private final String wireName;
    private final int slot;

    HookPoint(String wireName, int slot) {
        this.wireName = wireName;
        this.slot = slot;
    }

    /** The name in site names and files, e.g. {@code attn_norm}. */
    public String wireName() {
        return wireName;
    }

    /** The point's slot in the model's hooks ({@link SiteHook#ATTN_NORM} ...). */
    public int slot() {
        return slot;
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
