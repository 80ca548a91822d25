package io.steergate.role;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * Which of the three roles this process plays (application.properties, section "Roles"). One artifact serves every
 * deployment: the embedded default plays all three in one JVM, a split deployment turns roles off per process
 * (STEERGATE_ROLE_WORKER=false for a gateway-only process). A role that is off starts none of its threads, consumers
 * or start-up work.
 */
@ConfigMapping(prefix = "steergate.role")
public interface ProcessRoles {

    /**
     * Policies, the outbox relay, the deadline sweep, the demo import, the first credentials and the audit signing key;
     * the requests and job-results channels follow the same property in application.properties.
     */
    @WithDefault("true")
    boolean gateway();

    /** Loads the model, registers it and generates the jobs of its model's job topic. */
    @WithDefault("true")
    boolean worker();

    /** Takes interrupted retraining jobs up again; the retraining channel follows the same property. */
    @WithDefault("true")
    boolean trainer();
}
