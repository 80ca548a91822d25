package io.steergate.bench;

import com.sun.management.ThreadMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * What the live threads have allocated so far, for benchmarks that report bytes per token: the split forward's helper
 * threads live as long as the JVM, so a difference of two readings counts their allocation too (and a little of the
 * JVM's own threads').
 */
final class Allocated {

    private static final ThreadMXBean THREADS = (ThreadMXBean) ManagementFactory.getThreadMXBean();

    private Allocated() {
    }

    static long bytes() {
        return Arrays.stream(THREADS.getThreadAllocatedBytes(THREADS.getAllThreadIds())).filter(b -> b > 0).sum();
    }
}
