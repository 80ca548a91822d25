package io.steergate.engine.model;

/**
 * What the model reads of one stage of a site's steering for one row, its strength already applied:
 * {@code y = omega * x + beta} per neuron, only where {@code lo < x < hi} (strict) when a support is present, identity
 * elsewhere. A gated stage (DSAS, arXiv 2512.03661) moves each token only part of the way:
 * {@code y = x + g(x) (omega * x + beta - x)} with {@code g(x) = sigmoid(gate . x + gateBias)} computed once per token
 * from this stage's input, so the per-token cost is one dot product. The one value type behind it is the steering
 * package's {@code AffineMap}, which checks the lengths; the model sees it through this interface because the model
 * may not import the steering package.
 */
public interface HookStage {

    /** Per-neuron scale, length = the site's width. */
    float[] omega();

    /** Per-neuron shift, same length. */
    float[] beta();

    /** Lower end of the support (exclusive), or null when the stage has no support. */
    float[] lo();

    /** Upper end of the support (exclusive), null exactly when {@link #lo} is. */
    float[] hi();

    /**
     * The token gate's weights (length = the site's width), or null for an ungated stage (the default: every stage
     * written before gates existed is ungated).
     */
    default float[] gate() {
        return null;
    }

    /** The token gate's bias; read only when {@link #gate} is not null. */
    default float gateBias() {
        return 0f;
    }

    default boolean isGated() {
        return gate() != null;
    }

    default boolean hasSupport() {
        return lo() != null;
    }

    default int width() {
        return omega().length;
    }

    /** The scalar reference of the NDArray application, in float32: a new array, {@code x} unchanged. */
    default float[] apply(float[] x) {
        float[] omega = omega();
        float[] beta = beta();
        float[] lo = lo();
        float[] hi = hi();
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            boolean inside = lo == null || (lo[i] < x[i] && x[i] < hi[i]);
            y[i] = inside ? x[i] * omega[i] + beta[i] : x[i];
        }
        if (isGated()) {
            float g = gateOf(x, gate(), gateBias());
            for (int i = 0; i < x.length; i++) {
                y[i] = x[i] + g * (y[i] - x[i]);
            }
        }
        return y;
    }

    /**
     * The gate's factor for one token, sigmoid(gate . x + bias) in float32, the dot product summed in order from
     * index 0 (the loop decoder's rule: a row's bits do not depend on anything but the row).
     */
    static float gateOf(float[] x, float[] gate, float bias) {
        float dot = 0f;
        for (int i = 0; i < x.length; i++) {
            dot += x[i] * gate[i];
        }
        return (float) (1.0 / (1.0 + Math.exp(-(double) (dot + bias))));
    }
}
