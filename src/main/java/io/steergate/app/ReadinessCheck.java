package io.steergate.app;

import io.steergate.outbox.OutboxRelay;
import io.steergate.worker.JobWorker;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready when this process's own loops are: the outbox relay (gateway role), the model plus job loop (worker role),
 * and the policies and interventions that decisions read (gateway role).
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
                .status(relay.healthy() && worker.healthy() && decisions.isOpen())
                .withData("outboxRelay", relay.healthy())
                .withData("worker", worker.healthy())
                .withData("decisions", decisions.isOpen())
                .build();
    }
}
