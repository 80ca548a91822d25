package io.steergate.engine.model;

import java.util.Objects;

/**
 * One stage of a site's steering for one row, its strength already applied: {@code y = omega * x + beta} per
 * neuron, only where {@code lo < x < hi} (strict) when a support is present, identity elsewhere.
 *
 * @param omega per-neuron scale, length = the site's width
 * @param beta per-neuron shift, same length
 * @param lo lower end of the support (exclusive), or null when the stage has no support
 * @param hi upper end of the support (exclusive), null exactly when {@code lo} is
 */
public record HookStage(float[] omega, float[] beta, float[] lo, float[] hi) {

    public HookStage {
        Objects.requireNonNull(omega, "omega");
        Objects.requireNonNull(beta, "beta");
        if (beta.length != omega.length) {
            throw new IllegalArgumentException("beta has " + beta.length + " values, omega " + omega.length);
        }
        if ((lo == null) != (hi == null)) {
            throw new IllegalArgumentException("lo and hi must be given together");
        }
        if (lo != null && (lo.length != omega.length || hi.length != omega.length)) {
            throw new IllegalArgumentException("lo/hi have " + lo.length + "/" + hi.length + " values, omega "
                    + omega.length);
        }
    }

    public boolean hasSupport() {
        return lo != null;
    }

    public int width() {
        return omega.length;
    }

    /** The scalar reference of the NDArray application: a new array, {@code x} unchanged. */
    public float[] apply(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            boolean inside = lo == null || (lo[i] < x[i] && x[i] < hi[i]);
            y[i] = inside ? x[i] * omega[i] + beta[i] : x[i];
        }
        return y;
    }
}
