package io.steergate.engine.model;

import ai.djl.ndarray.NDArray;

/**
 * Rewrites the activation at one hook site of {@link LlamaModel}'s forward pass. A forward takes the hooks as one
 * array indexed by {@link #index(int, HookPoint)}; a null entry (or a null array) costs nothing at that site.
 *
 * <p>Hooks are plain NDArray operations, so they stay on the autograd tape: an (omega, beta) that requires gradients
 * gets them (LinEAS).
 */
@FunctionalInterface
public interface SiteHook {

    /** Hook slots per layer: one per {@link HookPoint}. */
    int POINTS = HookPoint.values().length;

    /** The activation that replaces {@code x} (same shape) from here on. */
    NDArray apply(NDArray x);

    /** The slot of (layer, point) in a hooks array of length {@code nLayers * POINTS}. */
    static int index(int layer, HookPoint point) {
        return layer * POINTS + point.slot();
    }

    /** The point of slot {@code index} (the inverse of {@link #index} for the point). */
    static HookPoint point(int index) {
        return HookPoint.values()[index % POINTS];
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
