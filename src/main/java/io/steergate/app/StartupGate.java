package io.steergate.app;

import io.steergate.gateway.DecisionGate;
import io.steergate.policy.PolicyEngine;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import org.jboss.logging.Logger;

/**
 * Opens the gateway's doors once a decision can be right: the policies are loaded against a reachable registry and
 * the demo interventions (when configured) are imported and in force. Stays open afterwards: later outages are
 * waited out where they happen, with the policies already in force.
 */
@ApplicationScoped
public class StartupGate implements DecisionGate {

    private static final Logger LOG = Logger.getLogger(StartupGate.class);
    private static final long POLL_MS = 50;

    @Inject
    PolicyEngine policies;

    @Inject
    DemoInterventions demo;

    private volatile boolean open;

    @Override
    public boolean isOpen() {
        if (!open && policies.loaded() && demo.settled()) {
            open = true;
            LOG.info("decisions open: policies and interventions loaded");
        }
        return open;
    }

    @Override
    public boolean await(Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!isOpen()) {
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            Thread.sleep(POLL_MS);
        }
        return true;
    }
}
