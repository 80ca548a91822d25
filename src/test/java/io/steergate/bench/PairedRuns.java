package io.steergate.bench;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Statistics over alternating benchmark runs: each run is one row of measures (columns), and run r of a case was
 * taken right after run r of the case it is compared with, so the per-pair ratio cancels the machine's drift.
 */
final class PairedRuns {

    private PairedRuns() {
    }

    /** The median over runs of {@code runs[r][column] / before[r][column]}. */
    static double pairRatio(double[][] runs, double[][] before, int column) {
        double[] ratios = new double[runs.length];
        for (int r = 0; r < runs.length; r++) {
            ratios[r] = runs[r][column] / before[r][column];
        }
        Arrays.sort(ratios);
        return ratios[ratios.length / 2];
    }

    static double median(double[][] runs, int column) {
        double[] values = Arrays.stream(runs).mapToDouble(run -> run[column]).sorted().toArray();
        return values[values.length / 2];
    }

    static double min(double[][] runs, int column) {
        return Arrays.stream(runs).mapToDouble(run -> run[column]).min().orElseThrow();
    }

    static double max(double[][] runs, int column) {
        return Arrays.stream(runs).mapToDouble(run -> run[column]).max().orElseThrow();
    }

    /**
     * A 95% bootstrap interval of the median of {@code values} (2,000 resamples, percentile method, a fixed seed so that
     * a run prints the same interval for the same values): how far the median of this many pairs can be trusted.
     */
    static double[] medianInterval(double[] values) {
        SplittableRandom random = new SplittableRandom(1);
        double[] medians = new double[2000];
        double[] resample = new double[values.length];
        for (int b = 0; b < medians.length; b++) {
            for (int i = 0; i < resample.length; i++) {
                resample[i] = values[random.nextInt(values.length)];
            }
            Arrays.sort(resample);
            medians[b] = resample[resample.length / 2];
        }
        Arrays.sort(medians);
        return new double[] {medians[(int) (0.025 * medians.length)], medians[(int) (0.975 * medians.length) - 1]};
    }
}
