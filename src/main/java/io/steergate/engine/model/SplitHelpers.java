package io.steergate.engine.model;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * The threads that run the other runs of a split forward ({@link LoopDecoder}), one per core beside the caller's.
 *
 * <p>Why not the common pool: a decode step hands a run over every step, every 0.1-1 ms, and a pool worker parks
 * between steps, so each step paid a wake-up on the other core while the caller waited for it. These threads, and a
 * caller waiting for one, spin for {@link #SPIN_NANOS} before they park: a run handed over within that time starts at
 * once, and a thread that is not handed one within it stops taking CPU. When every helper is taken (two forwards
 * split at once), a run goes to the common pool as before.
 */
final class SplitHelpers {

    /** How long a helper waits for its next run, and a caller for a helper's result, before parking. */
    static final long SPIN_NANOS = 100_000;
    private static final Helper[] HELPERS = start(ForkJoinPool.getCommonPoolParallelism());

    private SplitHelpers() {
    }

    /** Starts {@code work} on an idle helper (or the common pool when none is idle); {@link Run#join} waits for it. */
    static <T> Run<T> submit(Supplier<T> work) {
        Run<T> run = new Run<>(work);
        for (Helper helper : HELPERS) {
            if (helper.idle.compareAndSet(true, false)) {
                helper.next.set(run);
                LockSupport.unpark(helper);
                return run;
            }
        }
        ForkJoinPool.commonPool().execute(() -> run.run(() -> { }));
        return run;
    }

    /** How many helper threads there are (as many as the common pool's parallelism). */
    static int helperCount() {
        return HELPERS.length;
    }

    private static Helper[] start(int count) {
        Helper[] helpers = new Helper[count];
        for (int i = 0; i < count; i++) {
            helpers[i] = new Helper("steergate-decode-split-" + (i + 1));
            helpers[i].start();
        }
        return helpers;
    }

    /** One run handed to a helper: its result or what it threw, once done. */
    static final class Run<T> {
        private final Supplier<T> work;
        private volatile boolean done;
        private volatile Thread waiter;
        private T result;
        private Throwable thrown;

        private Run(Supplier<T> work) {
            this.work = work;
        }

        /**
         * Runs the work, then {@code freed} (its thread takes runs again), then publishes the outcome: a joiner that
         * returns finds the thread free for its next hand-over, rather than racing it to the common pool.
         */
        private void run(Runnable freed) {
            try {
                result = work.get();
            } catch (Throwable e) { // everything, a checked exception thrown sneakily too: a joiner must never hang
                thrown = e;
            }
            freed.run();
            done = true; // publishes result and thrown to the joining thread
            Thread joining = waiter;
            if (joining != null) {
                LockSupport.unpark(joining);
            }
        }

        /** The run's result; rethrows what it threw (a checked exception wrapped in an IllegalStateException). */
        T join() {
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            // the run uses the caller's buffers, so an interrupt cannot end the wait; it is kept for after, since with
            // the flag set park returns at once and the wait would take a whole core
            boolean interrupted = false;
            while (!done) {
                if (System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                } else {
                    waiter = Thread.currentThread();
                    if (!done) {
                        LockSupport.park(this);
                        interrupted |= Thread.interrupted();
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (thrown instanceof RuntimeException e) {
                throw e;
            }
            if (thrown instanceof Error e) {
                throw e;
            }
            if (thrown != null) {
                throw new IllegalStateException("a split run failed", thrown);
            }
            return result;
        }
    }

    private static final class Helper extends Thread {
        private final AtomicBoolean idle = new AtomicBoolean(true);
        private final AtomicReference<Run<?>> next = new AtomicReference<>();

        private Helper(String name) {
            super(name);
            setDaemon(true);
        }

        @Override
        public void run() {
            while (true) {
                Run<?> run = awaitNext();
                next.set(null);
                // a submit that finds it idle sets next while this run ends; the loop's awaitNext then finds it
                run.run(() -> idle.set(true));
            }
        }

        private Run<?> awaitNext() {
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            Run<?> run;
            while ((run = next.get()) == null) {
                if (System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this); // submit unparks after setting next; a stale permit only loops once
                }
            }
            return run;
        }
    }
}
