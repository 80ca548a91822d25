package io.steergate.worker;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Where the continuous job loop's thread spends its time, one timer per phase of an iteration
 * ({@code steergate.worker.loop}, tag {@code phase}): what an operator reads when latency grows but the decode steps
 * do not (a slow attempts transaction shows as {@code take}, a slow offset commit as {@code commit}). The phases' sums
 * add up to the loop's wall time, less the few statements between them.
 */
final class LoopPhases {

    /** Waiting for jobs with nothing in the batch. */
    static final String IDLE = "idle";
    /** The poll between steps while rows run. */
    static final String POLL = "poll";
    /** New jobs: dead letters, the attempts transaction, preparation, submission. */
    static final String TAKE = "take";
    /** One decode step (joiners' prefill included) and sending its answers. */
    static final String STEP = "step";
    /** Finishing acknowledged answers; with nothing in the batch, waiting for them. */
    static final String SETTLE = "settle";
    /** Clearing finished jobs' attempts and committing offsets, when due. */
    static final String COMMIT = "commit";

    private final Map<String, Timer> timers = new HashMap<>();

    LoopPhases(MeterRegistry metrics) {
        for (String phase : new String[] {IDLE, POLL, TAKE, STEP, SETTLE, COMMIT}) {
            timers.put(phase, Timer.builder("steergate.worker.loop").tag("phase", phase)
                    .description("Time the continuous job loop spends in each phase of its iterations").register(metrics));
        }
    }

    /** Records the time since {@code sinceNanos} under {@code phase}; returns now, where the next phase starts. */
    long record(String phase, long sinceNanos) {
        long now = System.nanoTime();
        timers.get(phase).record(now - sinceNanos, TimeUnit.NANOSECONDS);
        return now;
    }
}
