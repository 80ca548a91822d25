package io.steergate.engine.model;

import ai.djl.ndarray.NDArray;

/**
 * Rewrites the activation at one hook site of {@link LlamaModel}'s forward pass. A forward takes the hooks as one
 * array indexed by {@link #index(int, int)}; a null entry (or a null array) costs nothing at that site.
 *
 * <p>Hooks are plain NDArray operations, so they stay on the autograd tape: an (omega, beta) that requires gradients
 * gets them (LinEAS).
 */
@FunctionalInterface
public interface SiteHook {

    // the hook points of one layer, in forward order (io.steergate.engine.steering.HookPoint mirrors them)
    /** Output of the pre-attention RMSNorm, (B, T, dim). */
    int ATTN_NORM = 0;
    /** Attention output (after wo) before the residual add, (B, T, dim). */
    int ATTN_OUT = 1;
    /** Output of the pre-FFN RMSNorm, (B, T, dim). */
    int MLP_NORM = 2;
    /** FFN output (after w2) before the residual add, (B, T, dim). */
    int MLP_OUT = 3;
    /** The residual stream after the block, (B, T, dim). */
    int RESID = 4;
    /** Hook points per layer. */
    int POINTS = 5;

    /** The activation that replaces {@code x} (same shape) from here on. */
    NDArray apply(NDArray x);

    /** The slot of (layer, point) in a hooks array of length {@code nLayers * POINTS}. */
    static int index(int layer, int point) {
        return layer * POINTS + point;
    }

    /** x * omega + beta: the diagonal affine map with broadcastable (omega, beta), e.g. (dim) or (B, 1, dim). */
    static SiteHook affine(NDArray omega, NDArray beta) {
        return x -> x.mul(omega).add(beta);
    }

    /** Applies {@code first}, then {@code second}. */
    default SiteHook andThen(SiteHook second) {
        return x -> second.apply(apply(x));
    }
}
