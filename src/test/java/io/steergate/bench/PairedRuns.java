package io.steergate.bench;

import java.util.Arrays;

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
}
