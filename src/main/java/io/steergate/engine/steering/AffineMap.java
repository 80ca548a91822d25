package io.steergate.engine.steering;

import io.steergate.engine.model.HookStage;
import java.util.Arrays;
import java.util.Objects;

/**
 * One site's per-neuron map T(x) = omega * x + beta, with the optional transport support (lo, hi) of Linear-AcT.
 * At strength lambda: y = lambda (omega x + beta) + (1 - lambda) x where lo < x < hi (strict), x elsewhere
 * (docs/steering-methods.md 1.1-1.2; Linear-AcT, arXiv 2410.23054: the support is a mask, not a clamp).
 *
 * <p>An optional token gate (DSAS, arXiv 2512.03661) scales the strength per token: at strength lambda,
 * y = x + sigmoid(gate . x + gateBias) lambda (T(x) - x), the gate read from the map's input. It cannot fold with
 * other maps (its factor depends on x), so a gated map is always a stage of its own.
 *
 * <p>The one per-neuron (omega, beta) value type: a stored map, and also, at strength 1, a folded stage of a plan
 * that the model applies ({@link HookStage} is how the model sees it).
 *
 * @param omega per-neuron scale
 * @param beta per-neuron shift
 * @param lo lower end of the support, or null for none
 * @param hi upper end of the support, null exactly when lo is
 * @param gate the token gate's weights (length = width), or null for an ungated map
 * @param gateBias the token gate's bias (0 when there is no gate)
 */
public record AffineMap(float[] omega, float[] beta, float[] lo, float[] hi, float[] gate, float gateBias)
        implements HookStage {

    /** An ungated map. */
    public AffineMap(float[] omega, float[] beta, float[] lo, float[] hi) {
        this(omega, beta, lo, hi, null, 0f);
    }

    public AffineMap {
        Objects.requireNonNull(omega, "omega");
        Objects.requireNonNull(beta, "beta");
        if (omega.length == 0) {
            throw new IllegalArgumentException("omega must not be empty");
        }
        if (beta.length != omega.length) {
            throw new IllegalArgumentException("beta has " + beta.length + " values; omega has " + omega.length);
        }
        if ((lo == null) != (hi == null)) {
            throw new IllegalArgumentException("lo and hi must both be given or both be null");
        }
        if (lo != null && lo.length != omega.length) {
            throw new IllegalArgumentException("lo has " + lo.length + " values; omega has " + omega.length);
        }
        if (hi != null && hi.length != omega.length) {
            throw new IllegalArgumentException("hi has " + hi.length + " values; omega has " + omega.length);
        }
        if (gate != null && gate.length != omega.length) {
            throw new IllegalArgumentException("gate has " + gate.length + " values; omega has " + omega.length);
        }
        if (gate == null && gateBias != 0f) {
            throw new IllegalArgumentException("a gate bias without a gate");
        }
        if (!Float.isFinite(gateBias)) {
            throw new IllegalArgumentException("gate bias must be finite, got " + gateBias);
        }
    }

    /** This map with the token gate sigmoid(gate . x + bias). */
    public AffineMap gated(float[] gate, float bias) {
        return new AffineMap(omega, beta, lo, hi, Objects.requireNonNull(gate, "gate"), bias);
    }

    /** This map without its token gate. */
    public AffineMap ungated() {
        return new AffineMap(omega, beta, lo, hi);
    }

    /** A map without support. */
    public static AffineMap of(float[] omega, float[] beta) {
        return new AffineMap(omega, beta, null, null);
    }

    /** The identity map (omega 1, beta 0) of width {@code width}. */
    public static AffineMap identity(int width) {
        float[] omega = new float[width];
        Arrays.fill(omega, 1f);
        return of(omega, new float[width]);
    }

    /**
     * This map at strength {@code lambda} as a map of its own: omega' = lambda omega + (1 - lambda), beta' =
     * lambda beta, support and gate unchanged; so applying it at strength mu equals applying this map at mu * lambda.
     */
    public AffineMap scaled(double lambda) {
        float[] o = new float[omega.length];
        float[] b = new float[beta.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = (float) (lambda * omega[i] + (1 - lambda));
            b[i] = (float) (lambda * beta[i]);
        }
        return new AffineMap(o, b, lo, hi, gate, gateBias);
    }

    /** The scalar reference of the rule at strength {@code lambda}, in float64: a new array. */
    public float[] apply(float[] x, double lambda) {
        if (x.length != omega.length) {
            throw new IllegalArgumentException("x has " + x.length + " values; the map has " + omega.length);
        }
        double g = 1;
        if (gate != null) {
            double dot = gateBias;
            for (int i = 0; i < x.length; i++) {
                dot += (double) gate[i] * x[i];
            }
            g = 1 / (1 + Math.exp(-dot));
        }
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            boolean inside = lo == null || (lo[i] < x[i] && x[i] < hi[i]);
            if (!inside) {
                y[i] = x[i];
            } else if (gate == null) {
                y[i] = (float) (lambda * (omega[i] * (double) x[i] + beta[i]) + (1 - lambda) * x[i]);
            } else {
                y[i] = (float) (x[i] + g * lambda * (omega[i] * (double) x[i] + beta[i] - x[i]));
            }
        }
        return y;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AffineMap m && Arrays.equals(omega, m.omega) && Arrays.equals(beta, m.beta)
                && Arrays.equals(lo, m.lo) && Arrays.equals(hi, m.hi) && Arrays.equals(gate, m.gate)
                && Float.compare(gateBias, m.gateBias) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(omega), Arrays.hashCode(beta), Arrays.hashCode(lo), Arrays.hashCode(hi),
                Arrays.hashCode(gate), gateBias);
    }

    @Override
    public String toString() {
        return "AffineMap[width=" + omega.length + ", support=" + hasSupport() + (gate == null ? "" : ", gated") + "]";
    }
}
