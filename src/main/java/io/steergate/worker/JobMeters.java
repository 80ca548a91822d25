package io.steergate.worker;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;

/** The counters both job loops keep. */
final class JobMeters {

    /** Its sum counts the jobs generated. */
    final DistributionSummary batchSizes;
    final Counter tokensGenerated;
    final Counter counterfactualTokens;
    final Counter retriedAlone;
    final Counter deadLetteredUnreadable;
    final Counter deadLetteredAttempts;
    final Counter deadLetteredUnfit;

    JobMeters(MeterRegistry metrics) {
        batchSizes = DistributionSummary.builder("steergate.worker.batch.size")
                .description("Jobs generated together (continuous scheduling: jobs that finished in one decode step)")
                .publishPercentileHistogram().register(metrics);
        tokensGenerated = metrics.counter("steergate.worker.tokens.generated");
        counterfactualTokens = Counter.builder("steergate.worker.counterfactual.tokens")
                .description("Tokens generated for unsteered counterfactual rows (also in steergate.worker.tokens.generated;"
                        + " in no result's usage)")
                .register(metrics);
        retriedAlone = Counter.builder("steergate.worker.jobs.retried.alone")
                .description("Jobs generated alone because their batch failed or an earlier attempt ended without a result")
                .register(metrics);
        deadLetteredUnreadable = deadLettered(metrics, "unreadable");
        deadLetteredAttempts = deadLettered(metrics, "max-attempts");
        deadLetteredUnfit = deadLettered(metrics, "cannot-generate");
    }

    private static Counter deadLettered(MeterRegistry metrics, String reason) {
        return Counter.builder("steergate.worker.jobs.dead.lettered").tag("reason", reason)
                .description("Jobs sent to the job dead-letter topic").register(metrics);
    }
}
