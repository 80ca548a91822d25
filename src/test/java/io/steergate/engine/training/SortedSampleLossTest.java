package io.steergate.engine.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The sorted-sample W2 criterion: a hand-computed value, target quantiles, and its gradient against finite differences. */
class SortedSampleLossTest {

    @Test
    void handComputedValue() {
        try (NDManager manager = NDManager.newBaseManager()) {
            // Z (B=3, D=2): neuron 0 sorts to [1, 2, 3], neuron 1 to [0, 1, 2]
            NDArray z = manager.create(new float[] {3, 1, 1, 2, 2, 0}, new Shape(3, 2));
            // sorted targets: neuron 0 [0, 2, 4], neuron 1 [1, 1, 1]
            NDArray v = manager.create(new float[] {0, 1, 2, 1, 4, 1}, new Shape(3, 2));
            // squared differences: neuron 0 [1, 0, 1], neuron 1 [1, 0, 1]; mean over 6 = 2/3
            assertEquals(2.0 / 3.0, SortedSampleLoss.loss(z, v).getFloat(), 1e-6);
        }
    }

    @Test
    void targetQuantilesSortAndInterpolate() {
        float[][] samples = {{4, 10}, {0, 30}, {2, 20}, {6, 40}};
        // levels = N: the sorted samples
        float[][] same = SortedSampleLoss.quantiles(samples, 4);
        assertArrayEquals(new float[] {0, 2, 4, 6}, column(same, 0), 0f);
        assertArrayEquals(new float[] {10, 20, 30, 40}, column(same, 1), 0f);
        // 2 levels, q = 0.25, 0.75: positions 0.5 and 2.5 in the sorted 4 -> midpoints
        float[][] two = SortedSampleLoss.quantiles(samples, 2);
        assertArrayEquals(new float[] {1, 5}, column(two, 0), 1e-6f);
        assertArrayEquals(new float[] {15, 35}, column(two, 1), 1e-6f);
        // 8 levels: ends clamp to min and max
        float[][] eight = SortedSampleLoss.quantiles(samples, 8);
        assertEquals(0f, eight[0][0]);
        assertEquals(6f, eight[7][0]);
    }

    @Test
    void gradientThroughTheSortMatchesFiniteDifferences() {
        float[] x = {0.3f, -1.2f, 1.7f, 0.4f, -0.5f, 2.2f}; // (B=3, D=2)
        float[] v = {-1f, 0f, 0.5f, 0.7f, 2f, 1.1f}; // sorted per column
        float[] omega = {1.4f, -0.6f};
        float[] beta = {0.1f, 0.3f};
        float[] gradOmega;
        float[] gradBeta;
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray w = manager.create(omega);
            NDArray b = manager.create(beta);
            w.setRequiresGradient(true);
            b.setRequiresGradient(true);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray z = manager.create(x, new Shape(3, 2)).mul(w).add(b);
                NDArray loss = SortedSampleLoss.loss(z, manager.create(v, new Shape(3, 2)));
                assertEquals(reference(x, v, toDouble(omega), toDouble(beta)), loss.getFloat(), 1e-5);
                collector.backward(loss);
            }
            gradOmega = w.getGradient().toFloatArray();
            gradBeta = b.getGradient().toFloatArray();
        }
        double h = 1e-6;
        for (int k = 0; k < 2; k++) {
            double[] wp = toDouble(omega);
            double[] wm = toDouble(omega);
            wp[k] += h;
            wm[k] -= h;
            double fd = (reference(x, v, wp, toDouble(beta)) - reference(x, v, wm, toDouble(beta))) / (2 * h);
            assertEquals(fd, gradOmega[k], 1e-4, "d/d omega " + k);
            double[] bp = toDouble(beta);
            double[] bm = toDouble(beta);
            bp[k] += h;
            bm[k] -= h;
            fd = (reference(x, v, toDouble(omega), bp) - reference(x, v, toDouble(omega), bm)) / (2 * h);
            assertEquals(fd, gradBeta[k], 1e-4, "d/d beta " + k);
        }
    }

    // the criterion in double: sort each column of z = x*omega + beta, mean squared difference to v
    private static double reference(float[] x, float[] v, double[] omega, double[] beta) {
        double sum = 0;
        for (int k = 0; k < 2; k++) {
            double[] z = new double[3];
            for (int i = 0; i < 3; i++) {
                z[i] = x[i * 2 + k] * omega[k] + beta[k];
            }
            Arrays.sort(z);
            for (int i = 0; i < 3; i++) {
                double d = z[i] - v[i * 2 + k];
                sum += d * d;
            }
        }
        return sum / 6;
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    private static float[] column(float[][] rows, int k) {
        float[] c = new float[rows.length];
        for (int i = 0; i < rows.length; i++) {
            c[i] = rows[i][k];
        }
        return c;
    }
}
