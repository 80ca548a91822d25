package io.steergate.retraining;

import io.steergate.resilience.Failures;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * A sweep run every period on its own daemon thread. A failed run (the database away) is logged once per outage,
 * then every 60th time, and tried again next period: an exception must not end the thread, since it would cancel
 * every later run of a scheduled task.
 */
final class PeriodicSweep {

    private final String name;
    private final Duration every;
    private final Runnable sweep;
    private final Logger log;
    private ScheduledExecutorService thread;
    private long failures;

    /** {@code name} is the thread's name and starts the log lines ("retraining-recovery sweep failed ..."). */
    PeriodicSweep(String name, Duration every, Runnable sweep, Logger log) {
        this.name = name;
        this.every = every;
        this.sweep = sweep;
        this.log = log;
    }

    void start() {
        thread = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread t = new Thread(task, name);
            t.setDaemon(true);
            return t;
        });
        long periodMs = every.toMillis();
        thread.scheduleWithFixedDelay(this::run, periodMs, periodMs, TimeUnit.MILLISECONDS);
    }

    void stop() throws InterruptedException {
        if (thread != null) {
            thread.shutdownNow();
            thread.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    private void run() {
        try {
            sweep.run();
            if (failures > 0) {
                log.infof("%s sweep recovered after %d failed sweeps", name, failures);
            }
            failures = 0;
        } catch (RuntimeException | Error e) {
            failures++;
            if (failures == 1 || failures % 60 == 0) {
                log.warnf("%s sweep failed (%d in a row, %s), trying again in %s: %s", name, failures,
                        Failures.isTransient(e) ? "transient" : "not transient", every, Failures.rootMessage(e));
            }
        }
    }
}
