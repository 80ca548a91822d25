package io.steergate.retraining;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.steergate.policy.PolicyEngine;
import io.steergate.role.ProcessRoles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Every {@code steergate.retraining-triggers.sweep-every}, evaluates the retraining triggers of the policies in force
 * and follows the firings still open ({@link RetrainingTriggers}). It runs in the gateway role, where the policies are
 * read; with several gateway replicas each sweeps, and row locks let one fire a trigger and move a firing on. A failed
 * sweep is logged once per outage and tried again next period ({@link PeriodicSweep}).
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

    private PeriodicSweep sweep;

    void start(@Observes StartupEvent event) {
        if (!roles.gateway()) {
            return;
        }
        sweep = new PeriodicSweep("retraining-triggers", every, this::sweep, LOG);
        sweep.start();
        LOG.infof("retraining trigger sweep every %s", every);
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        if (sweep != null) {
            sweep.stop();
        }
    }

    private void sweep() {
        if (policies.loaded()) {
            triggers.sweep(policies.policies());
        }
        triggers.advance();
    }
}
