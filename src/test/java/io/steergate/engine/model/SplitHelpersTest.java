package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The split forward's hand-over: results and failures come back, and no run waits for a helper that will not come. */
@Timeout(60)
class SplitHelpersTest {

    @Test
    void aRunsResultComesBackToTheJoiningThread() {
        for (int i = 0; i < 1_000; i++) {
            int n = i;
            assertEquals(n * 2, SplitHelpers.submit(() -> n * 2).join());
        }
    }

    /**
     * A helper is free again by the time its run's join returns, so the caller's next hand-over (the next decode step)
     * finds it. Before, the helper marked itself free only after publishing the result: a next submit in that window
     * went to the common pool, and a test that then took every helper deadlocked the one-thread pool (a CI hang).
     */
    @Test
    void aHelperIsFreeAgainWhenItsRunsJoinReturns() {
        for (int i = 0; i < 200_000; i++) {
            SplitHelpers.submit(() -> 1).join();
            String ranOn = SplitHelpers.submit(() -> Thread.currentThread().getName()).join();
            assertTrue(ranOn.startsWith("steergate-decode-split-"), "hand-over " + i + " went to " + ranOn);
        }
    }

    /** An interrupted caller still waits for its run (which uses its buffers), and keeps its interrupt for after. */
    @Test
    void anInterruptedJoinWaitsForItsRunAndKeepsTheInterrupt() {
        CountDownLatch release = new CountDownLatch(1);
        SplitHelpers.Run<Integer> run = SplitHelpers.submit(() -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 3;
        });
        Thread caller = Thread.currentThread();
        Thread releaser = new Thread(() -> {
            caller.interrupt();
            try {
                TimeUnit.MILLISECONDS.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
            release.countDown();
        });
        releaser.start();
        assertEquals(3, run.join());
        assertTrue(Thread.interrupted(), "the interrupt is kept (and cleared here)");
    }

    @Test
    void aRunHandedOverAfterTheHelperParkedStillRuns() throws InterruptedException {
        for (int i = 0; i < 5; i++) {
            // well past SPIN_NANOS: the helper has parked and must be woken by the hand-over
            TimeUnit.MILLISECONDS.sleep(5 + SplitHelpers.SPIN_NANOS / 1_000_000);
            String name = SplitHelpers.submit(() -> Thread.currentThread().getName()).join();
            assertTrue(name.startsWith("steergate-decode-split-") || name.startsWith("ForkJoinPool"), name);
        }
    }

    @Test
    void whatARunThrowsIsRethrownByJoin() {
        IllegalStateException thrown = new IllegalStateException("row 3 is full");
        SplitHelpers.Run<Object> failing = SplitHelpers.submit(() -> {
            throw thrown;
        });
        assertSame(thrown, assertThrows(IllegalStateException.class, failing::join));
        StackOverflowError error = new StackOverflowError("deep");
        SplitHelpers.Run<Object> erring = SplitHelpers.submit(() -> {
            throw error;
        });
        assertSame(error, assertThrows(StackOverflowError.class, erring::join));
        java.io.IOException checked = new java.io.IOException("thrown past the compiler");
        SplitHelpers.Run<Object> sneaky = SplitHelpers.submit(() -> sneakyThrow(checked));
        assertSame(checked, assertThrows(IllegalStateException.class, sneaky::join).getCause());
        assertEquals(7, SplitHelpers.submit(() -> 7).join(), "a helper that ran a failing run takes the next one");
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> Object sneakyThrow(Throwable e) throws T {
        throw (T) e;
    }

    @Test
    void whileEveryHelperIsTakenRunsGoToTheCommonPoolInsteadOfWaiting() throws InterruptedException {
        CountDownLatch release = new CountDownLatch(1);
        List<SplitHelpers.Run<String>> holding = new ArrayList<>();
        for (int i = 0; i < SplitHelpers.helperCount(); i++) {
            holding.add(SplitHelpers.submit(() -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return Thread.currentThread().getName();
            }));
        }
        for (int i = 0; i < 3; i++) {
            String ranOn = SplitHelpers.submit(() -> Thread.currentThread().getName()).join();
            assertTrue(!ranOn.startsWith("steergate-decode-split-"), "ran on a taken helper: " + ranOn);
        }
        release.countDown();
        for (SplitHelpers.Run<String> run : holding) {
            assertTrue(run.join().startsWith("steergate-decode-split-"));
        }
        assertEquals(5, SplitHelpers.submit(() -> 5).join(), "the helpers are free again");
    }
}
