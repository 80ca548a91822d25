package io.steergate.retraining;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.steergate.role.ProcessRoles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

/**
 * The trainer's recovery sweep: every {@code steergate.retraining.sweep-every} it re-queues jobs whose record was lost
 * and jobs whose trainer died, and gives up on those out of attempts ({@link RetrainingService#recover}). It runs
 * where trainers run (the trainer role), since only a trainer can take a job up again; with several trainers each
 * sweeps, and row locks keep them from handling one job twice. A failed sweep (the database away) is logged once per
 * outage and tried again next period ({@link PeriodicSweep}).
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

    private PeriodicSweep sweep;

    void start(@Observes StartupEvent event) {
        if (!roles.trainer()) {
            return;
        }
        sweep = new PeriodicSweep("retraining-recovery", config.sweepEvery(), jobs::recover, LOG);
        sweep.start();
        LOG.infof("retraining recovery sweep every %s: re-queues jobs QUEUED over %s or RUNNING without a heartbeat "
                + "for %s, at most %d attempts", config.sweepEvery(), config.queuedGrace(), config.staleAfter(),
                config.maxAttempts());
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        if (sweep != null) {
            sweep.stop();
        }
    }
}
