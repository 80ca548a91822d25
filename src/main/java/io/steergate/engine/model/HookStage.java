package io.steergate.engine.model;

/**
 * What the model reads of one stage of a site's steering for one row, its strength already applied:
 * {@code y = omega * x + beta} per neuron, only where {@code lo < x < hi} (strict) when a support is present, identity
 * elsewhere. The one value type behind it is the steering package's {@code AffineMap}, which checks the lengths; the
 * model sees it through this interface because the model may not import the steering package.
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
        return y;
    }
}
