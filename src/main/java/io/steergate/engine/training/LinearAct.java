package io.steergate.engine.training;

import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.Intervention;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Linear-AcT (arXiv 2410.23054; docs/steering-methods.md 2.2): per neuron, the affine least-squares fit to the 1-D
 * optimal transport between the pooled source and target activations (sorted samples matched), in float64, with
 * the source range [min, max] as the transport support. Fitted causally in forward order ({@link CausalFit}).
 */
public final class LinearAct {

    /** Below this, Σ(x - m_x)² counts as a constant neuron: identity instead of a random slope (docs/steering-methods.md 6). */
    static final double DEGENERATE = 1e-12;
    static final CausalMethod METHOD = new CausalMethod("linear-act", Intervention.LINEAR_ACT,
            Map.of("estimator", "linear_ot", "support", "q_0_100"), LinearAct::fitSite);

    private LinearAct() {
    }

    /**
     * Fits Linear-AcT maps at {@code options.sites()} from source prompts (the behaviour to remove) to target prompts.
     *
     * @return the intervention (method {@link Intervention#LINEAR_ACT}, with supports) and the fit's record
     */
    public static Fit fit(LlamaModel model, List<String> source, List<String> target, FitOptions options) {
        return METHOD.fit(model, source, target, options);
    }

    /** One site: fitNeuron on every column, support [min, max] of the source column. */
    static AffineMap fitSite(float[][] source, float[][] target) {
        int n = source.length;
        int dim = source[0].length;
        float[] omega = new float[dim];
        float[] beta = new float[dim];
        float[] lo = new float[dim];
        float[] hi = new float[dim];
        double[] x = new double[n];
        double[] y = new double[n];
        for (int k = 0; k < dim; k++) {
            for (int i = 0; i < n; i++) {
                x[i] = source[i][k];
                y[i] = target[i][k];
            }
            double[] wb = fitNeuron(x, y);
            omega[k] = (float) wb[0];
            beta[k] = (float) wb[1];
            double min = Double.POSITIVE_INFINITY;
            double max = Double.NEGATIVE_INFINITY;
            for (double v : x) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            lo[k] = (float) min;
            hi[k] = (float) max;
        }
        return new AffineMap(omega, beta, lo, hi);
    }

    /**
     * The per-neuron fit: sort x (source) and y (target), then least squares on the sorted pairs,
     * ω = Σ(x - m_x)(y - m_y) / Σ(x - m_x)², β = m_y - ω m_x; identity (ω 1, β 0) when Σ(x - m_x)² < 1e-12.
     * No jitter. The inputs are not modified.
     *
     * @param source samples of one neuron from the source set
     * @param target samples of the same neuron from the target set, as many as source
     * @return {ω, β}
     */
    public static double[] fitNeuron(double[] source, double[] target) {
        if (source.length != target.length || source.length == 0) {
            throw new IllegalArgumentException("source and target need the same, non-zero sample count; got "
                    + source.length + " and " + target.length);
        }
        double[] x = source.clone();
        double[] y = target.clone();
        Arrays.sort(x);
        Arrays.sort(y);
        double mx = mean(x);
        double my = mean(y);
        double sxy = 0;
        double sxx = 0;
        for (int i = 0; i < x.length; i++) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
        }
        if (sxx < DEGENERATE) {
            return new double[] {1, 0};
        }
        double omega = sxy / sxx;
        return new double[] {omega, my - omega * mx};
    }

    static double mean(double[] v) {
        double s = 0;
        for (double d : v) {
            s += d;
        }
        return s / v.length;
    }
}
