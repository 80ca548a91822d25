package io.steergate.retraining;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** The retraining flow ({@code steergate.retraining.*}). */
@ConfigMapping(prefix = "steergate.retraining")
public interface RetrainingConfig {

    /** The topic job ids travel on (through the outbox). */
    @WithDefault("steer.retraining")
    String topic();

    /** LinEAS steps between two progress updates (each also refreshes the job's heartbeat). */
    @WithDefault("25")
    int progressEvery();

    /**
     * How long a RUNNING job may go without a heartbeat before a redelivery of its record restarts it: longer than
     * the slowest progress interval, or a live training elsewhere would be started twice.
     */
    @WithDefault("PT5M")
    Duration staleAfter();
}
