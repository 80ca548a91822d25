package io.steergate.engine.training;

import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.Intervention;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Mean shift (Mean-AcT without its std guard; ITI-c-like): ω = 1, β = mean(target) - mean(source) per neuron, in
 * float64, no support. Fitted causally in forward order like {@link LinearAct}.
 */
public final class MeanShift {

    static final CausalMethod METHOD = new CausalMethod("mean-shift", Intervention.MEAN_SHIFT,
            Map.of("estimator", "mean_shift"), MeanShift::fitSite);

    private MeanShift() {
    }

    /** Fits mean-shift maps at {@code options.sites()}; method {@link Intervention#MEAN_SHIFT}. */
    public static Fit fit(LlamaModel model, List<String> source, List<String> target, FitOptions options) {
        return METHOD.fit(model, source, target, options);
    }

    static AffineMap fitSite(float[][] source, float[][] target) {
        int dim = source[0].length;
        float[] omega = new float[dim];
        float[] beta = new float[dim];
        Arrays.fill(omega, 1f);
        for (int k = 0; k < dim; k++) {
            double ms = 0;
            for (float[] row : source) {
                ms += row[k];
            }
            double mt = 0;
            for (float[] row : target) {
                mt += row[k];
            }
            beta[k] = (float) (mt / target.length - ms / source.length);
        }
        return AffineMap.of(omega, beta);
    }
}
