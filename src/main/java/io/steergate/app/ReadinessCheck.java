package io.steergate.app;

import io.steergate.outbox.OutboxRelay;
import io.steergate.worker.JobWorker;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready when this process's own loops are: the outbox relay (gateway role) and the model plus job loop (worker role).
 * Whether decisions are open yet is reported as data only: a gateway-only process waits for a worker to register its
 * model before the demo interventions can be imported, and that worker may be started after the gateway is ready.
 * Meanwhile requests wait (Kafka) or are answered 503 with Retry-After (HTTP).
 * The database and the Kafka channels have their own readiness checks, contributed by their extensions.
 */
@Readiness
@ApplicationScoped
public class ReadinessCheck implements HealthCheck {

    @Inject
    OutboxRelay relay;

    @Inject
    JobWorker worker;

    @Inject
    StartupGate decisions;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("steergate")
                .status(relay.healthy() && worker.healthy())
                .withData("outboxRelay", relay.healthy())
                .withData("worker", worker.healthy())
                .withData("workerWarm", worker.warm())
                .withData("decisions", decisions.isOpen())
                .build();
    }
}
