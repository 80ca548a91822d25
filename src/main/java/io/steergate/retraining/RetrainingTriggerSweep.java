package io.steergate.retraining;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.steergate.policy.PolicyEngine;
import io.steergate.resilience.Failures;
import io.steergate.role.ProcessRoles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Every {@code steergate.retraining-triggers.sweep-every}, evaluates the retraining triggers of the policies in force
 * and follows the firings still open ({@link RetrainingTriggers}). It runs in the gateway role, where the policies are
 * read; with several gateway replicas each sweeps, and row locks let one fire a trigger and move a firing on. A failed
 * sweep is logged once per outage and tried again next period.
 */
@ApplicationScoped
public class RetrainingTriggerSweep {

    private static final Logger LOG = Logger.getLogger(RetrainingTriggerSweep.class);

    @Inject
    RetrainingTriggers triggers;

    @Inject
    PolicyEngine policies;

    /**
     * How often triggers are evaluated and open firings followed: a trigger's window is days, so minutes are fine;
     * each evaluation reads the window's audit records of the trigger's intervention.
     */
    @ConfigProperty(name = "steergate.retraining-triggers.sweep-every", defaultValue = "PT5M")
    Duration every;

    @Inject
    ProcessRoles roles;

    private ScheduledExecutorService sweeper;
    private long failures;

    void start(@Observes StartupEvent event) {
        if (!roles.gateway()) {
            return;
        }
        sweeper = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "retraining-triggers");
            thread.setDaemon(true);
            return thread;
        });
        long periodMs = every.toMillis();
        sweeper.scheduleWithFixedDelay(this::sweep, periodMs, periodMs, TimeUnit.MILLISECONDS);
        LOG.infof("retraining trigger sweep every %s", every);
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
            if (policies.loaded()) {
                triggers.sweep(policies.policies());
            }
            triggers.advance();
            if (failures > 0) {
                LOG.infof("retraining trigger sweep recovered after %d failed sweeps", failures);
            }
            failures = 0;
        } catch (RuntimeException | Error e) {
            failures++;
            if (failures == 1 || failures % 60 == 0) {
                LOG.warnf("retraining trigger sweep failed (%d in a row, %s), trying again in %s: %s", failures,
                        Failures.isTransient(e) ? "transient" : "not transient", every,
                        Failures.rootMessage(e));
            }
        }
    }
}
