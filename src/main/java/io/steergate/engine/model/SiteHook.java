package io.steergate.engine.model;

import ai.djl.ndarray.NDArray;
import java.util.function.Consumer;

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

    /**
     * At an RMSNorm's output: the hook applied to {@code normalized} times the norm's {@code weight}. A hook that can
     * fold into the weight ({@link FoldedNorm}) does it in fewer operations.
     */
    default NDArray applyAfterNorm(NDArray normalized, NDArray weight) {
        return apply(normalized.mul(weight));
    }

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

    /**
     * x * omega + beta at an RMSNorm's output, with {@code weight} the norm's weight times omega: the model then
     * computes the normalized x times {@code weight} plus beta, one multiply instead of two. Not on the autograd tape
     * for omega (the product is computed once, outside it): for generation, not training.
     */
    record FoldedNorm(NDArray omega, NDArray beta, NDArray weight) implements SiteHook {
        @Override
        public NDArray apply(NDArray x) {
            return x.mul(omega).add(beta);
        }

        @Override
        public NDArray applyAfterNorm(NDArray normalized, NDArray ignored) {
            return normalized.mul(weight).add(beta);
        }
    }

    /** Applies {@code first}, then {@code second}. */
    default SiteHook andThen(SiteHook second) {
        return x -> second.apply(apply(x));
    }

    /** The identity: for a site that is only observed. */
    static SiteHook identity() {
        return x -> x;
    }

    /** This hook, then {@code observer} on its output (returned as it is); a fold at a norm site is kept. */
    default SiteHook observed(Consumer<NDArray> observer) {
        SiteHook hook = this;
        return new SiteHook() {
            @Override
            public NDArray apply(NDArray x) {
                NDArray y = hook.apply(x);
                observer.accept(y);
                return y;
            }

            @Override
            public NDArray applyAfterNorm(NDArray normalized, NDArray weight) {
                NDArray y = hook.applyAfterNorm(normalized, weight);
                observer.accept(y);
                return y;
            }
        };
    }
}
