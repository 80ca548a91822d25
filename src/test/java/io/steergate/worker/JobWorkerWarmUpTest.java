package io.steergate.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The job-worker thread's order: warm-up, then ready, then the loop (which subscribes); a failed warm-up starts cold. */
class JobWorkerWarmUpTest {

    @Test
    void theLoopStartsOnlyAfterTheWarmUpAndTheWorkerIsReadyInBetween() {
        List<String> order = new ArrayList<>();

        JobWorker.warmUpThenRun(() -> {
            order.add("warm-up");
            return new WarmUp.Result(3, 100, 50, 30, 10);
        }, () -> order.add("abandon"), () -> order.add("warm"), () -> order.add("loop"));

        assertEquals(List.of("warm-up", "warm", "loop"), order);
    }

    @Test
    void aWarmUpThatFailsDropsItsRowsAndTheLoopStartsCold() {
        List<String> order = new ArrayList<>();

        JobWorker.warmUpThenRun(() -> {
            order.add("warm-up");
            throw new IllegalStateException("a kernel fault");
        }, () -> order.add("abandon"), () -> order.add("warm"), () -> order.add("loop"));

        assertEquals(List.of("warm-up", "abandon", "warm", "loop"), order);
    }

    @Test
    void noWarmUpStartsTheLoopAtOnce() {
        List<String> order = new ArrayList<>();

        JobWorker.warmUpThenRun(() -> null, () -> order.add("abandon"), () -> order.add("warm"), () -> order.add("loop"));

        assertEquals(List.of("warm", "loop"), order);
    }
}
