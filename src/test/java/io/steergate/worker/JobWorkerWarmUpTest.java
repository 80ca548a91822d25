package io.steergate.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The job-worker thread's order: warm-up, then ready, then the loop (which subscribes); a failed warm-up starts cold;
 * settings the worker cannot run with are refused by name.
 */
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

    @Test
    void settingsTheWorkerCannotRunWithAreRefusedByName() {
        JobWorker.checkSettings(2, 1, Duration.ZERO);

        assertEquals("steergate.worker.warm-up must not be negative (PT0S for none), got PT-1S",
                assertThrows(IllegalStateException.class, () -> JobWorker.checkSettings(3, 16384, Duration.ofSeconds(-1)))
                        .getMessage());
        assertEquals("steergate.worker.max-attempts must be at least 2 (a first attempt in a batch, then the one that"
                + " dead-letters), got 1", assertThrows(IllegalStateException.class,
                        () -> JobWorker.checkSettings(1, 16384, Duration.ZERO)).getMessage());
        assertEquals("steergate.worker.batch-token-budget must be at least 1, got 0",
                assertThrows(IllegalStateException.class, () -> JobWorker.checkSettings(3, 0, Duration.ZERO)).getMessage());
    }
}
