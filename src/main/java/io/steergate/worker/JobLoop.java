package io.steergate.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.Identifiers;
import io.steergate.messages.Job;
import io.steergate.messages.JobResult;
import io.steergate.messages.ModelRef;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logging.Logger;

/**
 * The job worker's consumer loop, on one thread: gathers a poll of jobs, generates them in batches, publishes one
 * JobResult per job and commits the poll's offsets only after the broker acknowledged everything it produced.
 *
 * <p>It never ends while running. A transient failure (Failures.isTransient: the database or the broker away) pauses
 * the assigned partitions and retries the same step with Retry.pauseMs backoff, polling meanwhile so that the
 * consumer stays in its group; the worker reports not ready until the step goes through. Anything else unexpected is
 * logged on one line, recorded as the last error of the jobs in hand, and their records are delivered again: their
 * attempts, counted before generation, then take them through a run alone to the dead-letter topic.
 *
 * <p>Attempts: the jobs of a batch without an attempts row are counted in one transaction and generated together; a
 * job with a row (its earlier attempt ended without a result) runs alone, and the delivery that reaches max-attempts is dead-lettered
 * instead: its bytes go to the job DLQ and a FAILED JobResult (JOB_DEAD_LETTERED) ends its request. An unreadable job
 * goes to the job DLQ with the reason, and so does a job that cannot be generated for what it carries (a strength or a
 * topP out of range: forged or corrupted), beside the FAILED result (GENERATION_FAILED) that ends its request.
 */
final class JobLoop implements Runnable {

    private static final Logger LOG = Logger.getLogger(JobLoop.class);
    /** The request id of docs/architecture.md 4.2: a job without a valid one cannot be answered, so it is dead-lettered. */
    private static final Pattern REQUEST_ID = Identifiers.REQUEST_ID;
    /**
     * A dead letter keeps at most this many of the original bytes (header steergate-truncated-from says how many there
     * were), so that a job too large for the DLQ's broker limit is still set aside with its reason.
     */
    static final int DEAD_LETTER_MAX_BYTES = 512 * 1024;
    private static final long ACK_WAIT_MS = 30_000;
    private static final long STALE_POLL_NANOS = TimeUnit.MINUTES.toNanos(1);

    /** The attempt a job alone is about to make, and the error recorded for its earlier ones (null: none). */
    record Attempt(int count, String lastError) {}

    /** Attempt bookkeeping ({@link JobAttempts} in service). */
    interface Attempts {
        /** Counts a first attempt for every id without an attempts row; returns those ids. The others failed before. */
        Set<String> startFirst(Collection<String> requestIds);

        /** Counts one more attempt of a job about to run alone. */
        Attempt startAlone(String requestId);

        void recordError(Collection<String> requestIds, String error);

        /** Forgets the attempts of jobs whose results the broker acknowledged. */
        void finished(Collection<String> requestIds);
    }

    /** Generates a batch: {@link JobBatch} on the served model in service. */
    interface Generation {
        JobBatch.Outcome run(List<Job> jobs);
    }

    record Settings(String jobsTopic, String jobResultsTopic, String jobDlqTopic, int batchSize, int batchWaitMs, int maxAttempts) {}

    /** A job with the record it came in. */
    private record Delivery(ConsumerRecord<String, byte[]> record, Job job) {}

    /** A record that is not a job anyone can be answered for. */
    private static final class Unreadable extends Exception {
        final ErrorInfo error;

        Unreadable(ErrorCode code, String message) {
            super(message, null, false, false);
            this.error = ErrorInfo.of(code, message);
        }
    }

    private final Consumer<String, byte[]> consumer;
    private final Producer<String, byte[]> producer;
    private final Attempts attempts;
    private final Generation generation;
    private final ModelRef model;
    private final ObjectMapper json;
    private final Settings settings;
    private final DistributionSummary batchSizes;
    private final DistributionSummary tokensPerSecond;
    private final Counter tokensGenerated;
    private final Counter counterfactualTokens;
    private final Timer generateTime;
    private final Counter retriedAlone;
    private final Counter deadLetteredUnreadable;
    private final Counter deadLetteredAttempts;
    private final Counter deadLetteredUnfit;

    private volatile boolean running = true;
    private volatile boolean waiting;
    private volatile long lastPollNanos = System.nanoTime();
    /** The request ids of the batch in hand, whose attempts rows get the error of a surprise. */
    private List<String> inHand = List.of();
    private int surprises;

    JobLoop(Consumer<String, byte[]> consumer, Producer<String, byte[]> producer, Attempts attempts, Generation generation,
            ModelRef model, ObjectMapper json, MeterRegistry metrics, Settings settings) {
        this.consumer = consumer;
        this.producer = producer;
        this.attempts = attempts;
        this.generation = generation;
        this.model = model;
        this.json = json;
        this.settings = settings;
        batchSizes = DistributionSummary.builder("steergate.worker.batch.size").description("Jobs generated together")
                .publishPercentileHistogram().register(metrics);
        tokensPerSecond = DistributionSummary.builder("steergate.worker.tokens.per.second")
                .description("Generated tokens per second of generation time, per batch").register(metrics);
        tokensGenerated = metrics.counter("steergate.worker.tokens.generated");
        counterfactualTokens = Counter.builder("steergate.worker.counterfactual.tokens")
                .description("Tokens generated for unsteered counterfactual rows (also in steergate.worker.tokens.generated;"
                        + " in no result's usage)")
                .register(metrics);
        generateTime = metrics.timer("steergate.worker.generate");
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

    /** Not waiting on a dependency, and polled within the last minute (a batch takes far less). */
    boolean healthy() {
        return running && !waiting && System.nanoTime() - lastPollNanos < STALE_POLL_NANOS;
    }

    /** Ends the loop after the step in hand; a wait on a dependency ends at once. */
    void stop() {
        running = false;
        consumer.wakeup();
    }

    @Override
    public void run() {
        consumer.subscribe(List.of(settings.jobsTopic()), new PauseNewPartitionsWhileWaiting());
        try {
            while (running) {
                List<ConsumerRecord<String, byte[]>> records = List.of();
                try {
                    records = gather();
                    if (!records.isEmpty()) {
                        handle(records);
                    }
                    surprises = 0;
                } catch (RuntimeException | Error e) {
                    if (!running) {
                        break; // stop() woke the consumer up
                    }
                    recover(records, e);
                }
            }
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** One poll, then a short second one so that jobs arriving together share a batch. */
    private List<ConsumerRecord<String, byte[]>> gather() {
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        lastPollNanos = System.nanoTime();
        consumer.poll(Duration.ofMillis(500)).forEach(records::add);
        if (!records.isEmpty() && records.size() < settings.batchSize() && settings.batchWaitMs() > 0) {
            consumer.poll(Duration.ofMillis(settings.batchWaitMs())).forEach(records::add);
        }
        return records;
    }

    private void handle(List<ConsumerRecord<String, byte[]>> records) {
        List<Delivery> jobs = new ArrayList<>(records.size());
        List<ProducerRecord<String, byte[]>> unreadable = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            try {
                jobs.add(new Delivery(record, decode(record.value())));
            } catch (Unreadable e) {
                unreadable.add(deadLetter(record, e.error));
                LOG.warnf("unreadable job at %s-%d@%d dead-lettered to %s: %s %s", record.topic(), record.partition(),
                        record.offset(), settings.jobDlqTopic(), e.error.code(), e.error.message());
            }
        }
        publish(unreadable);
        deadLetteredUnreadable.increment(unreadable.size());

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
    private void runBatch(List<Delivery> batch) {
        Set<String> first = untilDone("counting the attempts of " + batch.size() + " jobs",
                () -> attempts.startFirst(owned(batch).stream().map(d -> d.job().requestId()).toList()));
        generate(batch.stream().filter(d -> first.contains(d.job().requestId())).toList());
        for (Delivery delivery : batch) {
            if (!first.contains(delivery.job().requestId()) && owns(delivery)) {
                runAlone(delivery);
            }
        }
    }

    private Job decode(byte[] value) throws Unreadable {
        if (value == null) {
            throw new Unreadable(ErrorCode.NOT_JSON, "not a job: the record has no value");
        }
        Job job;
        try {
            job = json.readValue(value, Job.class);
        } catch (StreamReadException e) {
            throw new Unreadable(ErrorCode.NOT_JSON, "not JSON: " + e.getOriginalMessage());
        } catch (JsonProcessingException e) {
            throw new Unreadable(ErrorCode.NOT_AN_OBJECT, "not a job: " + e.getOriginalMessage());
        } catch (IOException | RuntimeException e) {
            throw new Unreadable(ErrorCode.NOT_AN_OBJECT, "not a job: " + Failures.rootMessage(e));
        }
        if (job == null) {
            throw new Unreadable(ErrorCode.NOT_AN_OBJECT, "not a job: null");
        }
        if (job.requestId() == null || !REQUEST_ID.matcher(job.requestId()).matches()) {
            throw new Unreadable(ErrorCode.INVALID_ID, job.requestId() == null ? "requestId: missing"
                    : "requestId: must be 1-128 characters of [A-Za-z0-9._:-]");
        }
        return job;
    }

    /** A job whose earlier attempt ended without a result: generated alone, or dead-lettered at max-attempts. */
    private void runAlone(Delivery delivery) {
        String id = delivery.job().requestId();
        inHand = List.of(id);
        Attempt attempt = untilDone("counting an attempt of job " + id, () -> attempts.startAlone(id));
        if (!owns(delivery)) {
            inHand = List.of();
            return; // its partition went to another worker while this one waited: the new owner takes it
        }
        if (attempt.count() < settings.maxAttempts()) {
            retriedAlone.increment();
            LOG.infof("job %s runs alone, attempt %d of %d: an earlier attempt ended without a result", id,
                    attempt.count(), settings.maxAttempts());
            generate(List.of(delivery));
            return;
        }
        ErrorInfo error = ErrorInfo.of(ErrorCode.JOB_DEAD_LETTERED, "attempt " + attempt.count()
                + " of steergate.worker.max-attempts=" + settings.maxAttempts() + ": the earlier attempts ended without"
                + " a result (a failed batch or a worker that stopped while generating it); last error: "
                + (attempt.lastError() == null ? "none recorded" : attempt.lastError()));
        JobResult failed = JobBatch.failed(delivery.job(), model, System.currentTimeMillis(), 0, 0, error);
        publish(List.of(deadLetter(delivery.record(), error), resultRecord(failed)));
        deadLetteredAttempts.increment();
        LOG.warnf("job %s dead-lettered to %s: %s", id, settings.jobDlqTopic(), error.message());
        inHand = List.of();
    }

    /** Generates the batch, publishes its results and forgets their attempts. */
    private void generate(List<Delivery> batch) {
        if (batch.isEmpty()) {
            return;
        }
        inHand = batch.stream().map(d -> d.job().requestId()).toList();
        JobBatch.Outcome outcome = untilDone("generating " + batch.size() + " jobs",
                () -> generation.run(owned(batch).stream().map(Delivery::job).toList()));
        if (!outcome.results().isEmpty()) {
            batchSizes.record(outcome.results().size());
            tokensGenerated.increment(outcome.generatedTokens());
            counterfactualTokens.increment(outcome.counterfactualTokens());
            if (outcome.generateMs() > 0) {
                tokensPerSecond.record(outcome.generatedTokens() * 1000.0 / outcome.generateMs());
            }
            generateTime.record(Duration.ofMillis(outcome.generateMs()));
            retriedAlone.increment(outcome.retriedAlone());
            List<ProducerRecord<String, byte[]>> records = new ArrayList<>(outcome.results().stream().map(this::resultRecord).toList());
            records.addAll(unfitLetters(batch, outcome));
            publish(records);
            deadLetteredUnfit.increment(records.size() - outcome.results().size());
            List<String> done = outcome.results().stream().map(JobResult::requestId).toList();
            untilDone("clearing the attempts of " + done.size() + " finished jobs", () -> {
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
    private List<ProducerRecord<String, byte[]>> unfitLetters(List<Delivery> batch, JobBatch.Outcome outcome) {
        if (outcome.unfit().isEmpty()) {
            return List.of();
        }
        Map<String, ErrorInfo> errors = new HashMap<>();
        outcome.results().forEach(result -> errors.put(result.requestId(), result.error()));
        List<ProducerRecord<String, byte[]>> letters = new ArrayList<>();
        for (Delivery delivery : batch) {
            String id = delivery.job().requestId();
            if (outcome.unfit().contains(id) && owns(delivery)) {
                letters.add(deadLetter(delivery.record(), errors.get(id)));
                LOG.warnf("job %s cannot be generated, dead-lettered to %s: %s", id, settings.jobDlqTopic(), errors.get(id).message());
            }
        }
        return letters;
    }

    /**
     * Runs {@code step} until it goes through. While it fails transiently the assigned partitions are paused and the
     * consumer keeps polling (paused partitions return nothing), so it stays in its group; partitions assigned
     * meanwhile are paused too. Anything else is thrown.
     */
    private <T> T untilDone(String what, Supplier<T> step) {
        boolean paused = false;
        try {
            for (int attempt = 1; ; attempt++) {
                try {
                    T value = step.get();
                    if (paused) {
                        LOG.infof("%s went through at attempt %d; taking jobs again", what, attempt);
                    }
                    return value;
                } catch (RuntimeException e) {
                    if (!running || !Failures.isTransient(e)) {
                        throw e;
                    }
                    if (!paused) {
                        paused = true;
                        waiting = true;
                        consumer.pause(consumer.assignment());
                        LOG.warnf("%s failed, job partitions paused until it goes through: %s", what, Failures.reason(e));
                    } else if (attempt % 30 == 0) {
                        LOG.warnf("%s still failing at attempt %d: %s", what, attempt, Failures.reason(e));
                    }
                    pollPaused(Retry.pauseMs(attempt));
                }
            }
        } finally {
            if (paused) {
                consumer.resume(consumer.assignment());
                waiting = false;
            }
        }
    }

    private void pollPaused(long ms) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        do {
            lastPollNanos = System.nanoTime();
            var stray = consumer.poll(Duration.ofNanos(Math.max(TimeUnit.MILLISECONDS.toNanos(1), end - System.nanoTime())));
            // every assigned partition is paused, so nothing is expected; were something returned, skipping it could
            // let a later commit pass over it, so it is taken again after the wait
            rewind(stray);
        } while (running && System.nanoTime() < end);
    }

    /** Something unexpected: recorded as the last error of the jobs in hand, whose records come again. */
    private void recover(List<ConsumerRecord<String, byte[]>> records, Throwable failure) {
        surprises++;
        String reason = Failures.reason(failure);
        LOG.errorf("job loop: %s at %s while handling %d job records; they will be delivered again and their attempts counted",
                reason, where(failure), records.size());
        try {
            if (!inHand.isEmpty()) {
                attempts.recordError(inHand, reason);
            }
            rewind(records);
        } catch (RuntimeException e) {
            LOG.warnf("job loop: recovering from the failure above failed too: %s", Failures.reason(e));
        }
        inHand = List.of();
        Retry.backOff(Retry.pauseMs(surprises));
    }

    /** Moves each owned partition of {@code records} back to its first record there. */
    private void rewind(Iterable<ConsumerRecord<String, byte[]>> records) {
        Map<TopicPartition, Long> first = new HashMap<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            first.merge(new TopicPartition(record.topic(), record.partition()), record.offset(), Math::min);
        }
        Set<TopicPartition> owned = consumer.assignment();
        first.forEach((partition, offset) -> {
            if (owned.contains(partition)) {
                consumer.seek(partition, offset);
            }
        });
    }

    /** Commits the offsets of the poll's owned partitions; every result of them is acknowledged by now. */
    private void commit(List<ConsumerRecord<String, byte[]>> records) {
        Set<TopicPartition> owned = consumer.assignment();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            TopicPartition partition = new TopicPartition(record.topic(), record.partition());
            if (owned.contains(partition)) {
                offsets.merge(partition, new OffsetAndMetadata(record.offset() + 1), (a, b) -> a.offset() >= b.offset() ? a : b);
            }
        }
        if (offsets.isEmpty()) {
            return;
        }
        try {
            consumer.commitSync(offsets);
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
            consumer.commitSync(offsets); // stopping: the wakeup was meant for the next poll, these results are out
        } catch (RuntimeException e) {
            // After a rebalance the new owner redoes these jobs; the gateway keeps one outcome per request.
            LOG.warnf("committing job offsets failed, the next commit covers them (a restart first generates them again): %s",
                    Failures.reason(e));
        }
    }

    /** Sends the records and waits until the broker acknowledged every one, retrying while it is away. */
    private void publish(List<ProducerRecord<String, byte[]>> records) {
        if (records.isEmpty()) {
            return;
        }
        untilDone("publishing " + records.size() + " records", () -> {
            List<Future<RecordMetadata>> acks = new ArrayList<>(records.size());
            for (ProducerRecord<String, byte[]> record : records) {
                acks.add(producer.send(record));
            }
            for (Future<RecordMetadata> ack : acks) {
                awaitAck(ack);
            }
            return null;
        });
    }

    private static void awaitAck(Future<RecordMetadata> ack) {
        try {
            ack.get(ACK_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("the broker refused a record: " + Failures.rootMessage(e), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("no broker acknowledgement within " + ACK_WAIT_MS + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the broker", e);
        }
    }

    private ProducerRecord<String, byte[]> resultRecord(JobResult result) {
        try {
            return new ProducerRecord<>(settings.jobResultsTopic(), result.requestId(), json.writeValueAsBytes(result));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("the result of job " + result.requestId() + " cannot be written as JSON", e);
        }
    }

    /** The original record, key and bytes, for the job DLQ with the reason in the headers the gateway's DLQ uses. */
    private ProducerRecord<String, byte[]> deadLetter(ConsumerRecord<String, byte[]> record, ErrorInfo error) {
        byte[] value = record.value();
        boolean cut = value != null && value.length > DEAD_LETTER_MAX_BYTES;
        ProducerRecord<String, byte[]> letter = new ProducerRecord<>(settings.jobDlqTopic(), record.key(),
                cut ? Arrays.copyOf(value, DEAD_LETTER_MAX_BYTES) : value);
        letter.headers().add("steergate-error-code", error.code().getBytes(StandardCharsets.UTF_8));
        letter.headers().add("steergate-error-message", error.message().getBytes(StandardCharsets.UTF_8));
        if (cut) {
            letter.headers().add("steergate-truncated-from", String.valueOf(value.length).getBytes(StandardCharsets.UTF_8));
        }
        return letter;
    }

    /** The deliveries whose partitions this consumer still owns. */
    private List<Delivery> owned(List<Delivery> deliveries) {
        return deliveries.stream().filter(this::owns).toList();
    }

    private boolean owns(Delivery delivery) {
        return consumer.assignment().contains(new TopicPartition(delivery.record().topic(), delivery.record().partition()));
    }

    /** Where the innermost cause was thrown, so one log line can lead to the code. */
    private static String where(Throwable failure) {
        Throwable root = failure;
        for (int depth = 0; root.getCause() != null && root.getCause() != root && depth < 32; depth++) {
            root = root.getCause();
        }
        StackTraceElement[] trace = root.getStackTrace();
        return trace.length == 0 ? "an unknown place" : trace[0].toString();
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
            if (waiting) {
                consumer.pause(consumer.assignment());
            }
        }
    }
}
