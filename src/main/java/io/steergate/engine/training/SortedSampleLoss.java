package io.steergate.engine.training;

import ai.djl.ndarray.NDArray;
import java.util.Arrays;

/**
 * LinEAS's distributional criterion (arXiv 2503.10679; docs/steering-methods.md 3.2): per neuron, the squared
 * 1-D Wasserstein-2 distance between a batch of pooled activations and the target sample, computed by matching
 * sorted samples, averaged over neurons. The target is sorted once, on the Java side, and read at the batch's
 * quantile levels; the batch is sorted on the autograd tape (argSort of a detached copy, then gather), so the
 * gradient flows through the sorted values with the permutation held constant, as torch's sort does.
 */
public final class SortedSampleLoss {

    private SortedSampleLoss() {
    }

    /**
     * The target sample of each neuron read at levels q_i = (i + 0.5) / levels, i = 0..levels-1, by linear
     * interpolation of its sorted values (position q·N − 0.5, clamped to the ends; the rule of
     * {@link io.steergate.engine.eval.Wasserstein}). With levels = N it is the sorted sample itself.
     *
     * @param samples (N, D) target activations, N ≥ 1
     * @param levels the batch size B the loss will compare against
     * @return (levels, D): column k ascending
     */
    public static float[][] quantiles(float[][] samples, int levels) {
        if (samples.length == 0 || levels < 1) {
            throw new IllegalArgumentException("need at least one sample and one level, got " + samples.length
                    + " and " + levels);
        }
        int n = samples.length;
        int dim = samples[0].length;
        float[][] out = new float[levels][dim];
        double[] column = new double[n];
        for (int k = 0; k < dim; k++) {
            for (int i = 0; i < n; i++) {
                column[i] = samples[i][k];
            }
            Arrays.sort(column);
            for (int i = 0; i < levels; i++) {
                double p = Math.min(Math.max((i + 0.5) / levels * n - 0.5, 0), n - 1);
                int lo = (int) Math.floor(p);
                int hi = Math.min(lo + 1, n - 1);
                out[i][k] = (float) (column[lo] + (p - lo) * (column[hi] - column[lo]));
            }
        }
        return out;
    }

    /**
     * mean over neurons k and ranks i of (z_(i),k − target_i,k)², z sorted per column; a scalar on z's tape.
     *
     * @param z (B, D) pooled activations of one site, may require gradients
     * @param sortedTarget (B, D) from {@link #quantiles}, constant
     */
    public static NDArray loss(NDArray z, NDArray sortedTarget) {
        if (!z.getShape().equals(sortedTarget.getShape())) {
            throw new IllegalArgumentException("z has shape " + z.getShape() + ", the target " + sortedTarget.getShape());
        }
        NDArray order = z.stopGradient().argSort(0); // (B, D): ranks per neuron, a constant permutation
        NDArray zs = z.gather(order, 0); // (B, D) sorted, differentiable
        return zs.sub(sortedTarget).square().mean();
    }
}
