package io.steergate.worker;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.time.Duration;

/** Worker settings (application.properties, section "worker"). */
@ConfigMapping(prefix = "steergate.worker")
public interface WorkerConfig {

    @WithName("job-results-topic")
    @WithDefault("steer.job-results")
    String jobResultsTopic();

    /**
     * Where unreadable jobs and jobs that used up their attempts go, with the reason in headers: one topic for every
     * model (the dead letter keeps the job's bytes, which name the model).
     */
    @WithName("job-dlq-topic")
    @WithDefault("steer.jobs.dlq")
    String jobDlqTopic();

    /** Where a streamed job's text goes piece by piece while it generates ({@link io.steergate.messages.JobTokens}). */
    @WithName("job-tokens-topic")
    @WithDefault("steer.job-tokens")
    String jobTokensTopic();

    /** Where gateways ask workers to stop a streamed job whose client went away ({@link io.steergate.messages.JobCancel}). */
    @WithName("job-cancels-topic")
    @WithDefault("steer.job-cancels")
    String jobCancelsTopic();

    /** How the worker's loop schedules generation. */
    enum Scheduling {
        /** Jobs join the running batch between decode steps and leave it when done ({@link ContinuousJobLoop}). */
        CONTINUOUS,
        /** A poll's jobs run as batches to their end before the next poll ({@link JobLoop}); no streaming, no cancels. */
        RUN_TO_COMPLETION
    }

    /** continuous (default) or run-to-completion (the earlier loop, kept as a benchmark baseline). */
    @WithName("scheduling")
    @WithDefault("continuous")
    Scheduling scheduling();

    /** While rows run, how often the continuous loop polls for new jobs and cancels (it polls between decode steps). */
    @WithName("poll-interval-ms")
    @WithDefault("5")
    int pollIntervalMs();

    /** While rows run, how often the continuous loop commits offsets (up to each partition's lowest unfinished job). */
    @WithName("commit-interval-ms")
    @WithDefault("100")
    int commitIntervalMs();

    /**
     * Continuous: jobs join the running batch only every this many decode steps (1: at every step), so that jobs
     * arriving close together share one prefill, which the running rows wait for.
     */
    @WithName("join-every-steps")
    @WithDefault("1")
    int joinEverySteps();

    /** The least a decode step of the continuous loop takes (0: as fast as it runs); paces demos and tests. */
    @WithName("min-step-ms")
    @WithDefault("0")
    int minStepMs();

    /**
     * How long a stream's cancel is remembered (a queued job may reach this worker later); keep it at
     * steergate.gateway.request-deadline, past which the request has ended anyway.
     */
    @WithName("cancel-memory")
    @WithDefault("PT10M")
    Duration cancelMemory();

    @WithName("group-id")
    @WithDefault("steergate-workers")
    String groupId();

    /**
     * Most jobs generated together (continuous: most jobs running or queued in the batch). A job that asks for a
     * counterfactual counts once here and always shares its batch with its counterfactual row; the token budget
     * counts both rows.
     */
    @WithName("batch-size")
    @WithDefault("32")
    int batchSize();

    /**
     * The most a group of jobs generated together may cost, in tokens: rows x (longest prompt + most tokens any of
     * them may emit), which is what the generator's KV cache and masks hold, counterfactual rows included. A batch
     * over it is generated in several groups; a job over it by itself runs alone. 16384 = 32 rows at stories260K's
     * full context of 512. Continuous: rows x (KV columns + 1) of the running batch; a job joins when it fits.
     */
    @WithName("batch-token-budget")
    @WithDefault("16384")
    int batchTokenBudget();

    /**
     * Run to completion: after the first job of a batch arrives, how long to wait for more before generating. The
     * continuous loop starts at once (its late arrivals join the running batch).
     */
    @WithName("batch-wait-ms")
    @WithDefault("5")
    int batchWaitMs();

    /**
     * The delivery of a job that reaches this attempt count is dead-lettered instead of generated: its earlier
     * attempts (one in a batch, then alone) ended without a result because the worker failed or stopped. At least 2.
     */
    @WithName("max-attempts")
    @WithDefault("3")
    int maxAttempts();

    /**
     * How long the worker generates made-up rows after loading its model and before it joins its group and reports
     * ready ({@link WarmUp}), so that the first jobs after a start find the decode path compiled; 0 for none.
     */
    @WithName("warm-up")
    @WithDefault("PT3S")
    Duration warmUp();
}
