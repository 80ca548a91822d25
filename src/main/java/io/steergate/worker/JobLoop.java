package io.steergate.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.Job;
import io.steergate.messages.JobResult;
import io.steergate.messages.ModelRef;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.jboss.logging.Logger;

/**
 * The job worker's consumer loop, on one thread: gathers a poll of jobs, generates them in batches, publishes one
 * JobResult per job and commits the poll's offsets only after the broker acknowledged everything it produced.
 *
 * <p>It never ends while running. A transient failure is waited out with the partitions paused ({@link JobTraffic}). Anything else unexpected is
 * logged on one line, recorded as the last error of the jobs in hand, and their records are delivered again: their
 * attempts, counted before generation, then take them through a run alone to the dead-letter topic.
 *
 * <p>Attempts: the jobs of a batch without an attempts row are counted in one transaction and generated together; a
 * job with a row (its earlier attempt ended without a result) runs alone, and the delivery that reaches max-attempts is dead-lettered
 * instead: its bytes go to the job DLQ and a FAILED JobResult (JOB_DEAD_LETTERED) ends its request. An unreadable job
 * goes to the job DLQ with the reason, and so does a job that cannot be generated for what it carries (a strength or a
 * topP out of range: forged or corrupted), beside the FAILED result (GENERATION_FAILED) that ends its request.
 */
final class JobLoop implements WorkerLoop {

    private static final Logger LOG = Logger.getLogger(JobLoop.class);

    /** The attempt a job alone is about to make, and the error recorded for its earlier ones (null: none). */
    record Attempt(int count, String lastError) {}

    /** Attempt bookkeeping ({@link JobAttempts} in service). */
    interface Attempts {
        /** Counts a first attempt for every id without an attempts row; returns those ids. The others failed before. */
        Set<String> startFirst(Collection<String> requestIds);

        /** Counts one more attempt of a job about to run alone. */
        Attempt startAlone(String requestId);

        /**
         * Takes back the attempt {@link #startAlone} counted for jobs that never started: queued alone behind other
         * work when their partition was handed over or the loop gave up its batch. An attempt counts only when it ran.
         */
        void notStarted(Collection<String> requestIds);

        void recordError(Collection<String> requestIds, String error);

        /** Forgets the attempts of jobs whose results the broker acknowledged. */
        void finished(Collection<String> requestIds);
    }

    /** Generates a batch: {@link JobBatch} on the served model in service. */
    interface Generation {
        JobBatch.Outcome run(List<Job> jobs);
    }

    record Settings(String jobsTopic, String jobResultsTopic, String jobDlqTopic, int batchSize, int batchWaitMs, int maxAttempts) {}

    private final JobTraffic traffic;
    private final Consumer<String, byte[]> consumer;
    private final JobRecords io;
    private final Attempts attempts;
    private final Generation generation;
    private final ModelRef model;
    private final Settings settings;
    private final DistributionSummary tokensPerSecond;
    private final Timer generateTime;
    private final JobMeters meters;

    /** The request ids of the batch in hand, whose attempts rows get the error of a surprise. */
    private List<String> inHand = List.of();
    private int surprises;
    /** The records of the poll in hand, which come again after a surprise. */
    private List<ConsumerRecord<String, byte[]>> polled = List.of();

    JobLoop(Consumer<String, byte[]> consumer, Producer<String, byte[]> producer, Attempts attempts, Generation generation,
            ModelRef model, ObjectMapper json, MeterRegistry metrics, Settings settings) {
        this.traffic = new JobTraffic(consumer, producer);
        this.consumer = consumer;
        this.io = new JobRecords(json, settings.jobResultsTopic(), settings.jobDlqTopic());
        this.attempts = attempts;
        this.generation = generation;
        this.model = model;
        this.settings = settings;
        tokensPerSecond = DistributionSummary.builder("steergate.worker.tokens.per.second")
                .description("Generated tokens per second of generation time, per batch").register(metrics);
        generateTime = metrics.timer("steergate.worker.generate");
        meters = new JobMeters(metrics);
    }

    @Override
    public JobTraffic traffic() {
        return traffic;
    }

    @Override
    public void run() {
        consumer.subscribe(List.of(settings.jobsTopic()), new PauseNewPartitionsWhileWaiting());
        traffic.loop(() -> {
            polled = List.of();
            polled = traffic.gather(settings.batchSize(), settings.batchWaitMs());
            if (!polled.isEmpty()) {
                handle(polled);
            }
            surprises = 0;
        }, failure -> recover(polled, failure));
    }

    private void handle(List<ConsumerRecord<String, byte[]>> records) {
        List<ProducerRecord<String, byte[]>> unreadable = new ArrayList<>();
        List<JobRecords.Delivery> jobs = io.readable(records, unreadable);
        traffic.publish(unreadable);
        meters.deadLetteredUnreadable.increment(unreadable.size());

        // records of partitions revoked during a wait are dropped at each step: their new owner takes them
        for (int from = 0; from < jobs.size(); from += settings.batchSize()) {
            runBatch(jobs.subList(from, Math.min(jobs.size(), from + settings.batchSize())));
        }
        commit(records);
    }

    /**
     * Counts a first attempt of each job of the batch that has none, in one transaction, and generates those
     * together; each of the others (an earlier attempt ended without a result) then runs alone or is dead-lettered.
     */
    private void runBatch(List<JobRecords.Delivery> batch) {
        Set<String> first = traffic.untilDone("counting the attempts of " + batch.size() + " jobs",
                () -> attempts.startFirst(owned(batch).stream().map(d -> d.job().requestId()).toList()));
        generate(batch.stream().filter(d -> first.contains(d.job().requestId())).toList());
        for (JobRecords.Delivery delivery : batch) {
            if (!first.contains(delivery.job().requestId()) && owns(delivery)) {
                runAlone(delivery);
            }
        }
    }

    /** A job whose earlier attempt ended without a result: generated alone, or dead-lettered at max-attempts. */
    private void runAlone(JobRecords.Delivery delivery) {
        String id = delivery.job().requestId();
        inHand = List.of(id);
        // whether it is still this worker's is asked inside the retried step: the wait's polls may hand it over
        Attempt attempt = traffic.untilDone("counting an attempt of job " + id, () -> owns(delivery) ? attempts.startAlone(id) : null);
        if (attempt == null) {
            inHand = List.of();
            return; // its partition went to another worker while this one waited: the new owner takes it
        }
        if (attempt.count() < settings.maxAttempts()) {
            meters.retriedAlone.increment();
            LOG.infof("job %s runs alone, attempt %d of %d: an earlier attempt ended without a result", id,
                    attempt.count(), settings.maxAttempts());
            generate(List.of(delivery));
            return;
        }
        ErrorInfo error = JobRecords.attemptsUsedUp(attempt, settings.maxAttempts());
        JobResult failed = JobBatch.failed(delivery.job(), model, System.currentTimeMillis(), 0, 0, error);
        traffic.publish(List.of(io.deadLetter(delivery.record(), error), io.resultRecord(failed)));
        meters.deadLetteredAttempts.increment();
        LOG.warnf("job %s dead-lettered to %s: %s", id, settings.jobDlqTopic(), error.message());
        inHand = List.of();
    }

    /** Generates the batch, publishes its results and forgets their attempts. */
    private void generate(List<JobRecords.Delivery> batch) {
        if (batch.isEmpty()) {
            return;
        }
        inHand = batch.stream().map(d -> d.job().requestId()).toList();
        JobBatch.Outcome outcome = traffic.untilDone("generating " + batch.size() + " jobs",
                () -> generation.run(owned(batch).stream().map(JobRecords.Delivery::job).toList()));
        if (!outcome.results().isEmpty()) {
            meters.batchSizes.record(outcome.results().size());
            meters.tokensGenerated.increment(outcome.generatedTokens());
            meters.counterfactualTokens.increment(outcome.counterfactualTokens());
            if (outcome.generateMs() > 0) {
                tokensPerSecond.record(outcome.generatedTokens() * 1000.0 / outcome.generateMs());
            }
            generateTime.record(Duration.ofMillis(outcome.generateMs()));
            meters.retriedAlone.increment(outcome.retriedAlone());
            List<ProducerRecord<String, byte[]>> records = new ArrayList<>(outcome.results().stream().map(io::resultRecord).toList());
            records.addAll(unfitLetters(batch, outcome));
            traffic.publish(records);
            meters.deadLetteredUnfit.increment(records.size() - outcome.results().size());
            List<String> done = outcome.results().stream().map(JobResult::requestId).toList();
            traffic.untilDone("clearing the attempts of " + done.size() + " finished jobs", () -> {
                attempts.finished(done);
                return null;
            });
        }
        inHand = List.of();
    }

    /**
     * The records of the jobs the batch found unfit to generate (a forged or corrupted job), for the job DLQ with the
     * reason their FAILED results give: set aside for a person to look at, beside the result that ends the request.
     */
    private List<ProducerRecord<String, byte[]>> unfitLetters(List<JobRecords.Delivery> batch, JobBatch.Outcome outcome) {
        if (outcome.unfit().isEmpty()) {
            return List.of();
        }
        Map<String, ErrorInfo> errors = new HashMap<>();
        outcome.results().forEach(result -> errors.put(result.requestId(), result.error()));
        List<ProducerRecord<String, byte[]>> letters = new ArrayList<>();
        for (JobRecords.Delivery delivery : batch) {
            String id = delivery.job().requestId();
            if (outcome.unfit().contains(id) && owns(delivery)) {
                letters.add(io.deadLetter(delivery.record(), errors.get(id)));
                LOG.warnf("job %s cannot be generated, dead-lettered to %s: %s", id, settings.jobDlqTopic(), errors.get(id).message());
            }
        }
        return letters;
    }

    /** Something unexpected: recorded as the last error of the jobs in hand, whose records come again. */
    private void recover(List<ConsumerRecord<String, byte[]>> records, Throwable failure) {
        surprises++;
        String reason = Failures.reason(failure);
        LOG.errorf("job loop: %s at %s while handling %d job records; they will be delivered again and their attempts counted",
                reason, JobTraffic.where(failure), records.size());
        // the rewind first: it needs only the consumer; behind a failed recordError (the database away) it was skipped
        // and the records in hand were never fetched again
        try {
            traffic.rewind(records);
        } catch (RuntimeException e) {
            LOG.warnf("job loop: rewinding to the records in hand failed: %s", Failures.reason(e));
        }
        try {
            if (!inHand.isEmpty()) {
                attempts.recordError(inHand, reason);
            }
        } catch (RuntimeException e) {
            LOG.warnf("job loop: recording the error of %d jobs failed (they run again all the same): %s", inHand.size(),
                    Failures.reason(e));
        }
        inHand = List.of();
        Retry.backOff(Retry.pauseMs(surprises));
    }

    /** Commits the offsets of the poll's owned partitions; every result of them is acknowledged by now. */
    private void commit(List<ConsumerRecord<String, byte[]>> records) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            offsets.merge(new TopicPartition(record.topic(), record.partition()), new OffsetAndMetadata(record.offset() + 1),
                    (a, b) -> a.offset() >= b.offset() ? a : b);
        }
        traffic.commit(offsets);
    }

    /** The deliveries whose partitions this consumer still owns. */
    private List<JobRecords.Delivery> owned(List<JobRecords.Delivery> deliveries) {
        return deliveries.stream().filter(this::owns).toList();
    }

    private boolean owns(JobRecords.Delivery delivery) {
        return traffic.owns(delivery.record());
    }

    /**
     * Partitions assigned while the loop waits on a dependency are paused at once, like the others. The whole
     * assignment is paused again, since a rebalance may hand back a kept partition without its paused state.
     */
    private final class PauseNewPartitionsWhileWaiting implements ConsumerRebalanceListener {

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) {
                LOG.infof("job partitions revoked: %s", partitions);
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (traffic.waiting()) {
                consumer.pause(consumer.assignment());
            }
        }
    }
}
