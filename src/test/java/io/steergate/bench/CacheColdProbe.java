package io.steergate.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * How long this machine keeps a thread's data in its caches while the thread does something else. One unit of work is
 * a chain of dependent loads through a working set laid out one int per cache line in a random cycle (so neither the
 * prefetcher nor a second load in flight can hide a miss); the probe times a unit right after the previous one, and
 * after a pause spent either asleep or busy-waiting in the same thread, which touches nothing else.
 *
 * <p>Why it exists: a Kafka hop costs 0.5 ms back to back and 1.3 ms with 20 ms between sends, spread over every phase
 * of the broker (KafkaHopBench). If the pause itself costs the caches, a busy-waiting thread pays it too, and no
 * setting inside the guest (halt polling, spinners keeping the vCPUs awake) can help; that is what this probe tells
 * apart. Args: working set in KiB (default 1024), dependent loads per unit (2000), pauses in ms, comma-separated
 * (0,0.1,0.5,2,20).
 */
public final class CacheColdProbe {

    private static final int INTS_PER_LINE = 16;
    private static final int WARM_UP_UNITS = 2_000;
    private static final int MEASURED_UNITS = 300;

    private CacheColdProbe() {
    }

    public static void main(String[] args) throws InterruptedException {
        int kib = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        int loads = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        double[] pausesMs = Arrays.stream((args.length > 2 ? args[2] : "0,0.1,0.5,2,20").split(","))
                .mapToDouble(Double::parseDouble).toArray();
        int[] chain = chain(kib * 1024 / 64);
        System.out.printf("Cache probe: %d KiB working set, %d dependent loads a unit, %d units per row,"
                + " p50 / p90 us%n", kib, loads, MEASURED_UNITS);
        long sink = 0;
        for (double pauseMs : pausesMs) {
            long pauseNanos = (long) (pauseMs * 1_000_000);
            long[] asleep = new long[MEASURED_UNITS];
            long[] busy = new long[MEASURED_UNITS];
            sink += measure(chain, loads, pauseNanos, false, asleep) + measure(chain, loads, pauseNanos, true, busy);
            System.out.printf("pause %5.1f ms   asleep %5d / %5d   busy-waiting %5d / %5d%n", pauseMs,
                    percentile(asleep, 0.5), percentile(asleep, 0.9), percentile(busy, 0.5), percentile(busy, 0.9));
        }
        System.out.println("(checksum " + sink + ")");
    }

    /** A random cycle through {@code lines} cache lines: chain[i * 16] holds the index of the next line's int. */
    private static int[] chain(int lines) {
        List<Integer> order = new ArrayList<>(lines);
        for (int line = 0; line < lines; line++) {
            order.add(line);
        }
        Collections.shuffle(order, new Random(1));
        int[] chain = new int[lines * INTS_PER_LINE];
        for (int i = 0; i < lines; i++) {
            chain[order.get(i) * INTS_PER_LINE] = order.get((i + 1) % lines) * INTS_PER_LINE;
        }
        return chain;
    }

    private static long measure(int[] chain, int loads, long pauseNanos, boolean busyWait, long[] micros)
            throws InterruptedException {
        int lines = chain.length / INTS_PER_LINE;
        long sink = 0;
        for (int unit = 0; unit < WARM_UP_UNITS + micros.length; unit++) {
            boolean measured = unit >= WARM_UP_UNITS;
            if (measured && pauseNanos > 0) {
                pause(pauseNanos, busyWait);
            }
            long start = System.nanoTime();
            int at = (int) ((unit * 7919L) % lines) * INTS_PER_LINE;
            for (int load = 0; load < loads; load++) {
                at = chain[at];
            }
            sink += at;
            if (measured) {
                micros[unit - WARM_UP_UNITS] = (System.nanoTime() - start) / 1_000;
            }
        }
        return sink;
    }

    private static void pause(long nanos, boolean busyWait) throws InterruptedException {
        if (!busyWait) {
            Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
            return;
        }
        long until = System.nanoTime() + nanos;
        while (System.nanoTime() < until) {
            Thread.onSpinWait();
        }
    }

    private static long percentile(long[] values, double share) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[(int) Math.min(sorted.length - 1, Math.round(share * (sorted.length - 1)))];
    }
}
