package io.steergate.engine.eval;

import java.util.Arrays;

/**
 * A logistic-regression probe on pooled activations: {@code p(x) = sigmoid(w . z + b)} with {@code z} the standardised
 * activation {@code (x - mean) / scale}. Fitted by full-batch gradient descent with L2 on {@code w}, from a fixed zero
 * start, so a fit is deterministic. Standardising first makes one learning rate fit every site: residual-stream
 * widths differ by orders of magnitude in scale between neurons.
 *
 * @param mean   per-feature mean of the training rows
 * @param scale  per-feature standard deviation of the training rows (1 where a feature is constant)
 * @param weights per-feature weight on the standardised feature
 * @param bias   intercept
 */
public record LinearProbe(float[] mean, float[] scale, float[] weights, double bias) {

    /** Fitting settings: iterations of gradient descent, step size, L2 strength on the weights. */
    public record Options(int iterations, double learningRate, double l2) {

        public Options {
            if (iterations < 1 || !(learningRate > 0) || !(l2 >= 0)) {
                throw new IllegalArgumentException("probe options need iterations >= 1, learningRate > 0, l2 >= 0; got "
                        + iterations + ", " + learningRate + ", " + l2);
            }
        }

        /** 500 steps of 0.5 with l2 1e-2: converged on the shipped prompt sets (EVALUATION.md, "Probe scorer"). */
        public static Options defaults() {
            return new Options(500, 0.5, 1e-2);
        }
    }

    public LinearProbe {
        if (mean.length != scale.length || mean.length != weights.length || mean.length == 0) {
            throw new IllegalArgumentException("probe vectors must share one non-zero width, got " + mean.length + ", "
                    + scale.length + ", " + weights.length);
        }
    }

    /**
     * Fits a probe that separates {@code positive} rows (label 1: the concept) from {@code negative} rows (label 0).
     * The two classes are weighted equally whatever their sizes.
     *
     * @throws IllegalArgumentException when a class is empty or rows differ in width
     */
    public static LinearProbe fit(float[][] positive, float[][] negative, Options options) {
        if (positive.length == 0 || negative.length == 0) {
            throw new IllegalArgumentException("a probe needs rows of both classes, got " + positive.length
                    + " positive and " + negative.length + " negative");
        }
        int width = positive[0].length;
        int n = positive.length + negative.length;
        double[][] x = new double[n][];
        double[] y = new double[n];
        double[] rowWeight = new double[n];
        for (int i = 0; i < n; i++) {
            boolean pos = i < positive.length;
            float[] row = pos ? positive[i] : negative[i - positive.length];
            if (row.length != width) {
                throw new IllegalArgumentException("row " + i + " has width " + row.length + ", expected " + width);
            }
            x[i] = toDouble(row);
            y[i] = pos ? 1 : 0;
            // each class carries half the loss, so an unbalanced set does not just learn the majority
            rowWeight[i] = 0.5 / (pos ? positive.length : negative.length);
        }
        float[] mean = new float[width];
        float[] scale = new float[width];
        for (int j = 0; j < width; j++) {
            double sum = 0;
            for (double[] row : x) {
                sum += row[j];
            }
            double m = sum / n;
            double var = 0;
            for (double[] row : x) {
                var += (row[j] - m) * (row[j] - m);
            }
            double sd = Math.sqrt(var / n);
            mean[j] = (float) m;
            scale[j] = sd > 1e-12 ? (float) sd : 1f;
            for (double[] row : x) {
                row[j] = (row[j] - mean[j]) / scale[j];
            }
        }
        double[] w = new double[width];
        double b = 0;
        double[] grad = new double[width];
        for (int step = 0; step < options.iterations(); step++) {
            Arrays.fill(grad, 0);
            double gradB = 0;
            for (int i = 0; i < n; i++) {
                double err = (sigmoid(dot(w, x[i]) + b) - y[i]) * rowWeight[i];
                for (int j = 0; j < width; j++) {
                    grad[j] += err * x[i][j];
                }
                gradB += err;
            }
            for (int j = 0; j < width; j++) {
                w[j] -= options.learningRate() * (grad[j] + options.l2() * w[j]);
            }
            b -= options.learningRate() * gradB;
        }
        float[] weights = new float[width];
        for (int j = 0; j < width; j++) {
            weights[j] = (float) w[j];
        }
        return new LinearProbe(mean, scale, weights, b);
    }

    public int width() {
        return weights.length;
    }

    /** The probability that {@code activation} carries the concept. */
    public double probability(float[] activation) {
        if (activation.length != weights.length) {
            throw new IllegalArgumentException("activation has width " + activation.length + ", the probe " + weights.length);
        }
        double z = bias;
        for (int j = 0; j < weights.length; j++) {
            z += weights[j] * ((activation[j] - mean[j]) / scale[j]);
        }
        return sigmoid(z);
    }

    static double sigmoid(double z) {
        // split so that neither branch overflows exp
        return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static double[] toDouble(float[] row) {
        double[] out = new double[row.length];
        for (int i = 0; i < row.length; i++) {
            out[i] = row[i];
        }
        return out;
    }
}
