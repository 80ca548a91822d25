package io.steergate.retraining;

import java.util.ArrayList;
import java.util.List;

/**
 * The loss per step of one training, bounded: it keeps every {@code stride}-th step, and when it would hold more than
 * {@link #MAX_POINTS} it drops every other point and doubles the stride, so a long training keeps an even sample of its
 * whole curve in at most MAX_POINTS points (the latest step included). The latest step offered is always kept as well (the curve ends where the
 * training did). Steps whose loss is not finite are left out. Not thread-safe: one training feeds it.
 */
final class LossHistory {

    static final int MAX_POINTS = 500;

    private final List<double[]> points = new ArrayList<>();
    private double[] latest;
    private int stride = 1;

    void add(int step, double loss) {
        if (!Double.isFinite(loss)) {
            return;
        }
        latest = new double[] {step, loss};
        if (step % stride != 0) {
            return;
        }
        points.add(latest);
        if (points.size() >= MAX_POINTS) { // one place stays free for the latest step
            stride *= 2;
            points.removeIf(p -> (long) p[0] % stride != 0);
        }
    }

    /** [[step, loss], ...] in step order (steps as whole numbers); empty when no finite loss was offered. */
    List<List<Number>> points() {
        List<List<Number>> out = new ArrayList<>(points.size() + 1);
        for (double[] p : points) {
            out.add(List.of((int) p[0], p[1]));
        }
        if (latest != null && (points.isEmpty() || points.get(points.size() - 1) != latest)) {
            out.add(List.of((int) latest[0], latest[1]));
        }
        return out;
    }

    boolean isEmpty() {
        return latest == null;
    }
}
