package io.steergate.engine.eval;

import java.util.Arrays;

/**
 * 1-D Wasserstein-1 distances between empirical samples, per neuron and averaged over a hook site: how far a site's
 * activations on one prompt set lie from another's (for example steered source against clean target).
 */
public final class Wasserstein {

    private Wasserstein() {
    }

    /**
     * W1 between two samples of one neuron. With equal counts it is the mean |a_(i) - b_(i)| of the sorted samples
     * (1-D optimal transport matches sorted samples, as in Linear-AcT, arXiv 2410.23054). With unequal counts both
     * sorted samples are read at the common quantile levels q_i = (i + 0.5) / n, i = 0..n-1, n = max(|a|, |b|), by
     * linear interpolation (position q*m - 0.5 in a sample of m, clamped to its ends), and the mean |difference| is
     * taken; this reduces to the sorted matching when the counts are equal.
     *
     * @throws IllegalArgumentException if a sample is empty or holds a value that is not finite
     */
    public static double distance(float[] a, float[] b) {
        double[] sa = sorted(a, "a");
        double[] sb = sorted(b, "b");
        int n = Math.max(sa.length, sb.length);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double q = (i + 0.5) / n;
            sum += Math.abs(quantile(sa, q) - quantile(sb, q));
        }
        return sum / n;
    }

    /**
     * W1 of every neuron of a site between {@code a} (N, dim) and {@code b} (M, dim): column j of one against
     * column j of the other.
     *
     * @throws IllegalArgumentException if either has no rows, rows differ in length, or the widths differ
     */
    public static double[] perNeuron(float[][] a, float[][] b) {
        int dim = width(a, "a");
        if (width(b, "b") != dim) {
            throw new IllegalArgumentException("a has " + dim + " neurons, b has " + b[0].length);
        }
        double[] w = new double[dim];
        float[] ca = new float[a.length];
        float[] cb = new float[b.length];
        for (int j = 0; j < dim; j++) {
            for (int i = 0; i < a.length; i++) {
                ca[i] = a[i][j];
            }
            for (int i = 0; i < b.length; i++) {
                cb[i] = b[i][j];
            }
            w[j] = distance(ca, cb);
        }
        return w;
    }

    /** Mean over neurons of {@link #perNeuron}: one number for a site. */
    public static double siteMean(float[][] a, float[][] b) {
        return Arrays.stream(perNeuron(a, b)).average().orElseThrow();
    }

    // Value at level q of a sorted sample of m: position q*m - 0.5, clamped, linearly interpolated.
    private static double quantile(double[] sorted, double q) {
        int m = sorted.length;
        double p = Math.min(Math.max(q * m - 0.5, 0), m - 1);
        int lo = (int) Math.floor(p);
        int hi = Math.min(lo + 1, m - 1);
        double t = p - lo;
        return sorted[lo] + t * (sorted[hi] - sorted[lo]);
    }

    private static double[] sorted(float[] x, String which) {
        if (x.length == 0) {
            throw new IllegalArgumentException("sample " + which + " is empty");
        }
        double[] s = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) {
                throw new IllegalArgumentException("sample " + which + " value " + i + " is " + x[i]);
            }
            s[i] = x[i];
        }
        Arrays.sort(s);
        return s;
    }

    private static int width(float[][] x, String which) {
        if (x.length == 0) {
            throw new IllegalArgumentException(which + " has no rows");
        }
        int dim = x[0].length;
        if (dim == 0) {
            throw new IllegalArgumentException(which + " has no neurons");
        }
        for (int i = 1; i < x.length; i++) {
            if (x[i].length != dim) {
                throw new IllegalArgumentException(which + " row " + i + " has " + x[i].length + " values, row 0 has "
                        + dim);
            }
        }
        return dim;
    }
}
