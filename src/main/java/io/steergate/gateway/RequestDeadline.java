package io.steergate.gateway;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.steergate.resilience.Failures;
import io.steergate.role.ProcessRoles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

/**
 * Every accepted request ends: a request still PENDING past steergate.gateway.request-deadline (its job lost with a
 * wiped topic, dead-lettered, or its result unreadable) is turned into a FAILED result with TIMED_OUT. Runs in the
 * gateway role on its own thread, which survives every failure (an outage only skips sweeps).
 */
@ApplicationScoped
public class RequestDeadline {

    private static final Logger LOG = Logger.getLogger(RequestDeadline.class);
    private static final int BATCH = 100;

    @Inject
    GenerationService generations;

    @Inject
    GatewayConfig config;

    @Inject
    ProcessRoles roles;

    private volatile boolean running;
    private Thread thread;

    void start(@Observes StartupEvent event) {
        if (!roles.gateway()) {
            return;
        }
        running = true;
        thread = new Thread(this::run, "request-deadline");
        thread.setDaemon(true);
        thread.start();
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        running = false;
        if (thread != null) {
            thread.interrupt();
            thread.join(5_000);
        }
    }

    private void run() {
        boolean failing = false;
        while (running) {
            try {
                while (running && generations.expireOverdue(config.requestDeadline(), BATCH) == BATCH) {
                    // a full batch: more may be waiting
                }
                if (failing) {
                    LOG.info("deadline sweep works again");
                    failing = false;
                }
                Thread.sleep(config.deadlineSweep().toMillis());
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (!failing) {
                    LOG.warnf("deadline sweep failed (%s), will try again: %s",
                            Failures.isTransient(e) ? "transient" : "unexpected", Failures.rootMessage(e));
                    failing = true;
                }
                try {
                    Thread.sleep(config.deadlineSweep().toMillis());
                } catch (InterruptedException interrupted) {
                    return;
                }
            }
        }
    }
}
