package io.steergate.gateway;

import io.quarkus.runtime.StartupEvent;
import io.steergate.kafka.JobTopics;
import io.steergate.role.ProcessRoles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

/**
 * At the gateway role's start, the job topic of steergate.gateway.model: a model id that cannot name one fails the
 * start, naming it (rather than every request failing later); a missing topic is created with
 * steergate.jobs.partitions partitions, so the partitions are the configured ones even when the gateway publishes
 * before any worker of the model started.
 */
@ApplicationScoped
public class GatewayJobTopic {

    @Inject
    JobTopics jobTopics;

    @Inject
    GatewayConfig config;

    @Inject
    ProcessRoles roles;

    void start(@Observes StartupEvent event) {
        if (!roles.gateway()) {
            return;
        }
        try {
            jobTopics.ensure(config.model());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("steergate.gateway.model: " + e.getMessage(), e);
        }
    }
}
