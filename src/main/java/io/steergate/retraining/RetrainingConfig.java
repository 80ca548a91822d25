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

    /** Where records of {@link #topic()} that name no job go, unchanged, with the reason in headers. */
    @WithDefault("steer.retraining.dlq")
    String dlqTopic();

    /** LinEAS steps between two progress updates (each also refreshes the job's heartbeat). */
    @WithDefault("25")
    int progressEvery();

    /**
     * How long a RUNNING job may go without a heartbeat before it counts as orphaned (its trainer died) and is
     * restarted: longer than the slowest progress interval, or a live training elsewhere would be started twice.
     */
    @WithDefault("PT5M")
    Duration staleAfter();

    /** How often the trainer's recovery sweep looks for orphaned and lost jobs. */
    @WithDefault("PT30S")
    Duration sweepEvery();

    /**
     * How long a job may stay QUEUED before the sweep takes its record for lost and queues a fresh one. A record
     * waiting behind a long training is only duplicated (the copy is skipped), so this trades duplicates for the time
     * a really lost record takes to come back.
     */
    @WithDefault("PT5M")
    Duration queuedGrace();

    /** Trainings started for one job at most: an orphaned job that has had this many ends FAILED instead. */
    @WithDefault("3")
    int maxAttempts();
}
