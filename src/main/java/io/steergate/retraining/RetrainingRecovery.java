package io.steergate.retraining;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.steergate.resilience.Failures;
import io.steergate.role.ProcessRoles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The trainer's recovery sweep: every {@code steergate.retraining.sweep-every} it re-queues jobs whose record was lost
 * and jobs whose trainer died, and gives up on those out of attempts ({@link RetrainingService#recover}). It runs
 * where trainers run (the trainer role), since only a trainer can take a job up again; with several trainers each
 * sweeps, and row locks keep them from handling one job twice. A failed sweep (the database away) is logged once per
 * outage and tried again next period, so the thread never ends.
 */
@ApplicationScoped
public class RetrainingRecovery {

    private static final Logger LOG = Logger.getLogger(RetrainingRecovery.class);

    @Inject
    RetrainingService jobs;

    @Inject
    RetrainingConfig config;

    @Inject
    ProcessRoles roles;

    private ScheduledExecutorService sweeper;
    private long failures;

    void start(@Observes StartupEvent event) {
        if (!roles.trainer()) {
            return;
        }
        sweeper = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "retraining-recovery");
            thread.setDaemon(true);
            return thread;
        });
        long periodMs = config.sweepEvery().toMillis();
        sweeper.scheduleWithFixedDelay(this::sweep, periodMs, periodMs, TimeUnit.MILLISECONDS);
        LOG.infof("retraining recovery sweep every %s: re-queues jobs QUEUED over %s or RUNNING without a heartbeat "
                + "for %s, at most %d attempts", config.sweepEvery(), config.queuedGrace(), config.staleAfter(),
                config.maxAttempts());
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        if (sweeper != null) {
            sweeper.shutdownNow();
            sweeper.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    /** One sweep; never throws, since an exception would cancel every later run of a scheduled task. */
    private void sweep() {
        try {
            jobs.recover();
            if (failures > 0) {
                LOG.infof("retraining recovery sweep recovered after %d failed sweeps", failures);
            }
            failures = 0;
        } catch (RuntimeException | Error e) {
            failures++;
            if (failures == 1 || failures % 60 == 0) {
                LOG.warnf("retraining recovery sweep failed (%d in a row, %s), trying again in %s: %s", failures,
                        Failures.isTransient(e) ? "transient" : "not transient", config.sweepEvery(),
                        Failures.rootMessage(e));
            }
        }
    }
}
