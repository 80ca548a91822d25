package io.steergate.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.steergate.engine.model.Completion;
import io.steergate.engine.model.ContinuousBatch;
import io.steergate.messages.Job;
import io.steergate.messages.JobResult;
import io.steergate.messages.ModelRef;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.jboss.logging.Logger;

/**
 * The job worker's consumer loop with continuous batching (steergate.worker.scheduling=continuous), on one thread:
 * jobs that arrive while others generate join the running batch between decode steps ({@link ContinuousRows}), and
 * each job's result is sent as soon as its rows finish, so a short job never waits for a long one. The loop does not
 * wait for the broker's acknowledgement there: the next steps run meanwhile, and the job counts as done (its offset
 * commitable, its attempts forgotten) once the acknowledgement has come; an answer whose send failed is published
 * again, waiting while the broker is away.
 *
 * <p>Offsets: each partition's commit goes up to its lowest unfinished job (every result below it is acknowledged),
 * every commit-interval-ms and whenever the loop is idle. Attempts are counted as {@link JobLoop} counts them: the
 * poll's new jobs in one transaction before they run; a job with an attempts row runs alone, or, at max-attempts, is
 * dead-lettered; unreadable and unfit jobs are dead-lettered. A transient failure is waited out with the partitions
 * paused ({@link JobTraffic}). A decode step that throws fails no job by itself: the errors are recorded, the batch is
 * abandoned and each of its jobs runs again alone; a job that fails alone is FAILED. Anything else unexpected is
 * recorded as the last error of the jobs in hand, the batch is abandoned and each partition is rewound to its lowest
 * unfinished job, whose attempts then take it alone to the dead-letter topic.
 *
 * <p>Revoked partitions: done offsets are committed and their jobs leave the batch without a result (the new owner
 * generates them; their seeds make the text the same), their first attempts forgotten. Streams: each piece of a streamed job's own row goes to
 * steer.job-tokens ({@link JobTokenPublisher}); a job whose client went away ({@link JobCancels}) stops, running or
 * queued, and ends FAILED CANCELLED with what it generated.
 */
final class ContinuousJobLoop implements WorkerLoop {

    private static final Logger LOG = Logger.getLogger(ContinuousJobLoop.class);

    /** Prepares a job to generate: {@link JobBatch#prepare} on the served model in service. */
    interface Preparer {
        JobBatch.Prepared prepare(Job job, long nowMs);
    }

    /** How often the loop polls while rows run, commits, and at least how long a decode step takes (0: no pacing). */
    record Pacing(int pollIntervalMs, int commitIntervalMs, int minStepMs) {}

    /** A job in the batch (running or queued): its delivery, its rows, what they finished with. */
    private static final class InFlight {
        final JobRecords.Delivery delivery;
        final JobBatch.Prepared prepared;
        final boolean alone;
        /** Its alone attempt was counted when it was queued (a redelivery): taken back should it never start. */
        final boolean countedAlone;
        final Completion[] completions;
        /** When it was submitted to the decode core: where its queueMs ends and its generateMs begins. */
        final long startMs = System.currentTimeMillis();
        final long startNanos = System.nanoTime();
        long unit;
        int finished;
        boolean cancelled;

        InFlight(JobRecords.Delivery delivery, JobBatch.Prepared prepared, boolean alone, boolean countedAlone) {
            this.delivery = delivery;
            this.prepared = prepared;
            this.alone = alone;
            this.countedAlone = countedAlone;
            this.completions = new Completion[prepared.rows().size()];
        }

        String id() {
            return delivery.job().requestId();
        }

        TopicPartition partition() {
            return new TopicPartition(delivery.record().topic(), delivery.record().partition());
        }
    }

    /**
     * A job whose attempt {@link #take} counted and that is not in the batch yet (nor answered to the broker): its
     * attempt is given back if its partition is handed over, or the loop recovers, before it gets there.
     */
    private record Counted(TopicPartition partition, boolean alone) {}

    /** A partition's offsets taken and not yet done, and the next one to take. */
    private static final class Progress {
        final TreeSet<Long> pending = new TreeSet<>();
        long next;
        /** The last offset committed, or the first taken: there is nothing to commit below it. */
        long committed;

        Progress(long first) {
            next = first;
            committed = first;
        }

        /** Where a commit may go: the lowest unfinished offset, else past everything taken. */
        long commitable() {
            return pending.isEmpty() ? next : pending.first();
        }
    }

    private final JobTraffic traffic;
    private final Consumer<String, byte[]> consumer;
    private final JobRecords io;
    private final JobLoop.Attempts attempts;
    private final ContinuousRows rows;
    private final Preparer preparer;
    private final JobTokenPublisher tokens;
    private final JobCancels cancels;
    private final ModelRef model;
    private final JobLoop.Settings settings;
    private final Pacing pacing;
    private final JobMeters meters;
    private final Counter rowsJoined;
    private final Counter rowsCancelled;
    private final Timer stepTime;
    private final LoopPhases phases;
    private final AtomicInteger rowsRunning = new AtomicInteger();

    /** By unit number, in submission order. */
    private final Map<Long, InFlight> inFlight = new LinkedHashMap<>();
    /** Jobs counted by the take() under way and not in the batch yet, by request id. */
    private final Map<String, Counted> counted = new LinkedHashMap<>();
    private final Map<TopicPartition, Progress> progress = new HashMap<>();
    /** Jobs whose results the broker acknowledged, whose attempts are forgotten at the next commit. */
    private final List<String> acknowledged = new ArrayList<>();
    /** Answers of steps sent and not yet known acknowledged, oldest first (their offsets are not done). */
    private final Deque<Sent> unsettled = new ArrayDeque<>();
    private long lastPollNanos;
    private long lastCommitNanos;
    private boolean full;
    private int surprises;

    ContinuousJobLoop(Consumer<String, byte[]> consumer, Producer<String, byte[]> producer, JobLoop.Attempts attempts,
            ContinuousRows rows, Preparer preparer, JobTokenPublisher tokens, JobCancels cancels, ModelRef model,
            ObjectMapper json, MeterRegistry metrics, JobLoop.Settings settings, Pacing pacing) {
        this.traffic = new JobTraffic(consumer, producer);
        this.consumer = consumer;
        this.io = new JobRecords(json, settings.jobResultsTopic(), settings.jobDlqTopic());
        this.attempts = attempts;
        this.rows = rows;
        this.preparer = preparer;
        this.tokens = tokens;
        this.cancels = cancels;
        this.model = model;
        this.settings = settings;
        this.pacing = pacing;
        meters = new JobMeters(metrics);
        Gauge.builder("steergate.worker.rows.running", rowsRunning, AtomicInteger::get)
                .description("Rows in the running decode batch (counterfactual rows included)").register(metrics);
        rowsJoined = Counter.builder("steergate.worker.rows.joined")
                .description("Rows submitted to the decode batch (they join it between steps)").register(metrics);
        rowsCancelled = Counter.builder("steergate.worker.rows.cancelled")
                .description("Rows stopped before their end: their stream's client went away, or their partition was revoked")
                .register(metrics);
        stepTime = Timer.builder("steergate.worker.step").description("One decode step of the running batch (joiners' prefill included)")
                .register(metrics);
        phases = new LoopPhases(metrics);
    }

    @Override
    public JobTraffic traffic() {
        return traffic;
    }

    @Override
    public void run() {
        consumer.subscribe(List.of(settings.jobsTopic()), new Rebalances());
        try {
            traffic.loop(() -> {
                long mark = System.nanoTime();
                boolean idle = inFlight.isEmpty();
                List<ConsumerRecord<String, byte[]>> records = poll();
                mark = phases.record(idle ? LoopPhases.IDLE : LoopPhases.POLL, mark);
                if (!records.isEmpty()) {
                    take(records);
                    mark = phases.record(LoopPhases.TAKE, mark);
                }
                applyCancels();
                if (!inFlight.isEmpty()) {
                    step();
                    mark = phases.record(LoopPhases.STEP, mark);
                }
                settle(inFlight.isEmpty()); // idle: nothing to overlap the wait with
                mark = phases.record(LoopPhases.SETTLE, mark);
                commitWhenDue();
                phases.record(LoopPhases.COMMIT, mark);
                holdBackWhenFull();
                surprises = 0;
            }, this::recover);
        } finally {
            rows.abandon();
            rowsRunning.set(0);
        }
    }

    /**
     * While rows run, a poll that returns at once, at most every poll-interval-ms; idle, one that waits for work and
     * starts what it returns without waiting for more (batch-wait-ms is the run-to-completion loop's): a job arriving
     * a moment later joins the running batch at its next step (join-every-steps is what makes joiners share a prefill).
     */
    private List<ConsumerRecord<String, byte[]>> poll() {
        if (inFlight.isEmpty()) {
            lastPollNanos = System.nanoTime();
            return traffic.gather(settings.batchSize(), 0);
        }
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        if (System.nanoTime() - lastPollNanos >= TimeUnit.MILLISECONDS.toNanos(pacing.pollIntervalMs())) {
            lastPollNanos = System.nanoTime();
            traffic.poll(Duration.ZERO).forEach(records::add);
        }
        return records;
    }

    /**
     * Dead-letters what is not a job, counts the first attempts of the others and submits them (or answers them).
     * Every count is of a job this worker still owns when counted: the owners are asked inside the step a database
     * wait retries, as the wait's polls may hand partitions over; a job counted and handed over later, while another
     * waits, gives its attempt back in the revoke callback ({@link #counted}).
     */
    private void take(List<ConsumerRecord<String, byte[]>> records) {
        for (ConsumerRecord<String, byte[]> record : records) {
            Progress of = progress.computeIfAbsent(partition(record), p -> new Progress(record.offset()));
            of.pending.add(record.offset());
            of.next = Math.max(of.next, record.offset() + 1);
        }
        List<ProducerRecord<String, byte[]>> unreadable = new ArrayList<>();
        List<JobRecords.Delivery> jobs = io.readable(records, unreadable);
        traffic.publish(unreadable);
        meters.deadLetteredUnreadable.increment(unreadable.size());
        markDone(records.stream().filter(r -> jobs.stream().noneMatch(d -> d.record() == r)).toList());

        List<JobRecords.Delivery> owned = jobs.stream().filter(d -> traffic.owns(d.record())).toList();
        Set<String> first = traffic.untilDone("counting the attempts of " + owned.size() + " jobs",
                () -> attempts.startFirst(owned.stream().filter(d -> traffic.owns(d.record())).map(d -> d.job().requestId()).toList()));
        for (JobRecords.Delivery delivery : owned) {
            if (first.contains(delivery.job().requestId())) {
                counted.put(delivery.job().requestId(), new Counted(partition(delivery.record()), false));
            }
        }
        Answers answers = new Answers();
        for (JobRecords.Delivery delivery : owned) {
            if (!traffic.owns(delivery.record())) {
                continue; // revoked while waiting: the new owner takes it (an attempt counted was given back)
            }
            if (first.contains(delivery.job().requestId())) {
                submit(delivery, false, answers);
            } else {
                runAlone(delivery, answers);
            }
        }
        answers.publish();
        counted.clear();
    }

    /** A job whose earlier attempt ended without a result: submitted alone, or dead-lettered at max-attempts. */
    private void runAlone(JobRecords.Delivery delivery, Answers answers) {
        String id = delivery.job().requestId();
        JobLoop.Attempt attempt = traffic.untilDone("counting an attempt of job " + id,
                () -> traffic.owns(delivery.record()) ? attempts.startAlone(id) : null);
        if (attempt == null) {
            return; // revoked while waiting: the new owner counts it
        }
        counted.put(id, new Counted(partition(delivery.record()), true));
        if (attempt.count() < settings.maxAttempts()) {
            meters.retriedAlone.increment();
            LOG.infof("job %s runs alone, attempt %d of %d: an earlier attempt ended without a result", id,
                    attempt.count(), settings.maxAttempts());
            submit(delivery, true, answers);
            return;
        }
        var error = JobRecords.attemptsUsedUp(attempt, settings.maxAttempts());
        answers.add(delivery, JobBatch.failed(delivery.job(), model, System.currentTimeMillis(), 0, 0, error), false);
        answers.letters.add(io.deadLetter(delivery.record(), error));
        answers.kept.add(id); // its attempts row stays, so that a redelivery is dead-lettered again
        meters.deadLetteredAttempts.increment();
        LOG.warnf("job %s dead-lettered to %s: %s", id, io.jobDlqTopic(), error.message());
    }

    /** Prepares the job and submits its rows; a job refused before generation, or cancelled already, is answered. */
    private void submit(JobRecords.Delivery delivery, boolean alone, Answers answers) {
        Job job = delivery.job();
        JobBatch.Prepared prepared = traffic.untilDone("preparing job " + job.requestId(),
                () -> preparer.prepare(job, System.currentTimeMillis()));
        if (!traffic.owns(delivery.record())) {
            return; // revoked while waiting: the new owner takes it (its attempt was given back)
        }
        if (prepared.result() != null) {
            answers.add(delivery, prepared.result(), prepared.unfit());
            return;
        }
        if (!cancels.none() && cancels.cancelled(job.requestId())) {
            answers.add(delivery, cancelledBeforeStart(prepared), false);
            return;
        }
        // alone here only from runAlone, which counted the attempt
        join(new InFlight(delivery, prepared, alone, alone), answers);
    }

    /** Submits the job's rows to the decode core; a job it refuses (a steering or a site that does not fit) is FAILED. */
    private void join(InFlight job, Answers answers) {
        List<ContinuousBatch.RowRequest> requests = new ArrayList<>(job.prepared.rows().size());
        for (JobBatch.Row row : job.prepared.rows()) {
            // the counterfactual row is audit evidence, never streamed
            requests.add(new ContinuousBatch.RowRequest(row.input(), row.promptTokens(), row.pooledSites(),
                    row.counterfactual() ? null : tokens.sinkFor(job.delivery.job())));
        }
        try {
            job.unit = rows.submit(requests, job.alone);
        } catch (RuntimeException e) {
            LOG.warnf("job %s cannot join the batch: %s", job.id(), Failures.reason(e));
            answers.add(job.delivery, JobBatch.failed(job.delivery.job(), model, System.currentTimeMillis(),
                    job.prepared.promptTokens(), 0, "generation failed: " + Failures.reason(e)), false);
            return;
        }
        inFlight.put(job.unit, job);
        counted.remove(job.id());
        rowsJoined.increment(requests.size());
    }

    private JobResult cancelledBeforeStart(JobBatch.Prepared prepared) {
        return JobBatch.cancelled(prepared.job(), model, System.currentTimeMillis(), prepared.promptTokens(), 0, "", 0);
    }

    /** Stops the jobs whose stream's client went away: a queued one is answered now, a running one after the step. */
    private void applyCancels() {
        if (cancels.none() || inFlight.isEmpty()) {
            return;
        }
        Answers answers = new Answers();
        for (Iterator<InFlight> it = inFlight.values().iterator(); it.hasNext(); ) {
            InFlight job = it.next();
            if (job.cancelled || !cancels.cancelled(job.id())) {
                continue;
            }
            job.cancelled = true;
            rowsCancelled.increment(job.completions.length - job.finished);
            if (rows.cancel(job.unit)) {
                it.remove();
                answers.add(job.delivery, cancelledBeforeStart(job.prepared), false);
            }
        }
        answers.publish();
    }

    /** One decode step; the jobs whose rows all finished in it are answered, in one acknowledged publish. */
    private void step() {
        long start = System.nanoTime();
        List<ContinuousRows.Done> done;
        try {
            done = rows.step();
        } catch (RuntimeException e) {
            stepFailed(e);
            return;
        } finally {
            rowsRunning.set(rows.running());
        }
        stepTime.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
        Answers answers = new Answers();
        int jobsDone = 0;
        for (ContinuousRows.Done row : done) {
            InFlight job = inFlight.get(row.unit());
            if (job == null) {
                continue; // its partition was revoked
            }
            job.completions[row.row()] = row.completion();
            job.finished++;
            if (job.finished == job.completions.length) {
                inFlight.remove(row.unit());
                answers.add(job.delivery, completed(job), false);
                jobsDone++;
            }
        }
        if (jobsDone > 0) {
            meters.batchSizes.record(jobsDone);
        }
        if (!answers.isEmpty()) {
            // sent now, acknowledged later (settle): the next steps do not wait for the broker's round trip
            unsettled.add(new Sent(answers, traffic.send(answers.records())));
        }
        pace(start);
    }

    /** A step's answers, sent; finished once every acknowledgement has come. */
    private record Sent(Answers answers, List<Future<RecordMetadata>> acks) {}

    /**
     * Finishes the sent answers, oldest first, whose acknowledgements all came; with {@code wait}, every one, waiting.
     * Answers whose send failed are published again, waiting and retrying while the broker is away (a copy the broker
     * already had is identical: the gateway keeps one outcome per request).
     */
    private void settle(boolean wait) {
        while (!unsettled.isEmpty()) {
            Sent sent = unsettled.peek();
            boolean out = sent.acks().stream().anyMatch(ack -> !ack.isDone());
            if (out && !wait) {
                return;
            }
            unsettled.poll();
            if (JobTraffic.acknowledged(sent.acks()) || (out && JobTraffic.awaitAcknowledged(sent.acks()))) {
                sent.answers().finish();
            } else {
                sent.answers().publish();
            }
        }
    }

    private JobResult completed(InFlight job) {
        long generateMs = (System.nanoTime() - job.startNanos) / 1_000_000;
        Completion own = job.completions[0];
        Completion counterfactual = job.completions.length > 1 ? job.completions[1] : null;
        meters.tokensGenerated.increment(own.completionTokens() + (counterfactual == null ? 0 : counterfactual.completionTokens()));
        if (job.cancelled) {
            return JobBatch.cancelled(job.delivery.job(), model, job.startMs, own.promptTokens(), own.completionTokens(), own.text(),
                    generateMs);
        }
        if (counterfactual != null) {
            meters.counterfactualTokens.increment(counterfactual.completionTokens());
        }
        return JobBatch.completed(job.prepared, own, counterfactual, model, job.startMs, generateMs);
    }

    /** min-step-ms: paces the steps (demos, and tests that need time to act between tokens). */
    private void pace(long stepStartNanos) {
        long rest = pacing.minStepMs() - (System.nanoTime() - stepStartNanos) / 1_000_000;
        if (rest > 0 && traffic.running()) {
            Retry.backOff(rest);
        }
    }

    /**
     * A decode step threw: the errors are recorded and the batch abandoned; the job that ran alone is FAILED, every
     * other job runs again alone (a job that failed its batch then fails only itself).
     */
    private void stepFailed(RuntimeException failure) {
        String reason = Failures.reason(failure);
        List<InFlight> jobs = new ArrayList<>(inFlight.values());
        LOG.warnf("a decode step of %d jobs failed, each runs again alone: %s", jobs.size(), reason);
        traffic.untilDone("recording the error of " + jobs.size() + " jobs", () -> {
            attempts.recordError(jobs.stream().map(InFlight::id).toList(), reason);
            return null;
        });
        rows.abandon();
        inFlight.clear();
        jobs.removeIf(job -> !traffic.owns(job.delivery.record())); // revoked during the wait: the new owner takes them
        Answers answers = new Answers();
        for (int i = 0; i < jobs.size(); i++) {
            InFlight job = jobs.get(i);
            if (i == 0 && job.alone) {
                // admission is first in, first out and an alone job runs with no other: it was the one that failed
                LOG.warnf("job %s failed alone: %s", job.id(), reason);
                answers.add(job.delivery, JobBatch.failed(job.delivery.job(), model, job.startMs,
                        job.prepared.promptTokens(), (System.nanoTime() - job.startNanos) / 1_000_000,
                        "generation failed: " + reason), false);
            } else if (job.cancelled) {
                answers.add(job.delivery, cancelledBeforeStart(job.prepared), false);
            } else {
                meters.retriedAlone.increment();
                // counted when it joined the failed batch: nothing to take back should it not start
                join(new InFlight(job.delivery, job.prepared, true, false), answers);
            }
        }
        answers.publish();
    }

    /**
     * Something the loop does not handle where it happens (an Error, from a decode step too): recorded as the last error of the jobs in hand that ran (those still
     * queued alone give their attempt back), the batch abandoned, and each partition rewound to its lowest unfinished job, so that they come again and their attempts count.
     */
    private void recover(Throwable failure) {
        surprises++;
        String reason = Failures.reason(failure);
        List<String> inHand = inFlight.values().stream().map(InFlight::id).toList();
        Map<TopicPartition, Long> rewind = new HashMap<>();
        progress.forEach((partition, of) -> {
            if (!of.pending.isEmpty()) {
                rewind.put(partition, of.pending.first());
            }
        });
        LOG.errorf("job loop: %s at %s with %d jobs in hand; their records will be delivered again and their attempts counted",
                reason, JobTraffic.where(failure), inHand.size());
        List<String> neverStarted = queuedAlone(inFlight.values());
        // the error is the last of the jobs that ran; one queued alone keeps its own (the reason it was alone)
        List<String> ran = inHand.stream().filter(id -> !neverStarted.contains(id)).toList();
        // counted by a take() the failure cut short, never in the batch: first attempts forgotten, alone ones taken back
        List<String> firstNotStarted = countedFirst(counted.keySet());
        neverStarted.addAll(countedAlone(counted.keySet()));
        counted.clear();
        rows.abandon();
        rowsRunning.set(0);
        inFlight.clear();
        progress.values().forEach(of -> {
            if (!of.pending.isEmpty()) {
                of.next = of.pending.first();
                of.pending.clear();
            }
        });
        // the rewind first: it needs only the consumer, and without it the jobs in hand were never fetched again (a
        // database killed mid-commit failed recordError below and lost 14 jobs in FaultSuiteIT (d))
        try {
            traffic.seek(rewind);
        } catch (RuntimeException e) {
            LOG.warnf("job loop: rewinding to the jobs in hand failed: %s", Failures.reason(e));
        }
        try {
            if (!ran.isEmpty()) {
                attempts.recordError(ran, reason);
            }
            if (!neverStarted.isEmpty()) {
                attempts.notStarted(neverStarted);
            }
            if (!firstNotStarted.isEmpty()) {
                attempts.finished(firstNotStarted);
            }
        } catch (RuntimeException e) {
            LOG.warnf("job loop: recording the error of %d jobs failed (they run again all the same): %s", inHand.size(),
                    Failures.reason(e));
        }
        Retry.backOff(Retry.pauseMs(surprises));
    }

    /**
     * The jobs among {@code jobs} whose alone attempt was counted when they were queued and that are queued still:
     * taken out of the decode core here (a waiting unit's cancel drops it), as the callers drop them anyway.
     */
    private List<String> queuedAlone(Collection<InFlight> jobs) {
        List<String> queued = new ArrayList<>();
        for (InFlight job : List.copyOf(jobs)) {
            if (job.countedAlone && rows.cancel(job.unit)) {
                queued.add(job.id());
            }
        }
        return queued;
    }

    /** Those of {@code ids} whose first attempt {@link #take} counted. */
    private List<String> countedFirst(Collection<String> ids) {
        return ids.stream().filter(id -> !counted.get(id).alone()).toList();
    }

    /** Those of {@code ids} whose alone attempt {@link #take} counted. */
    private List<String> countedAlone(Collection<String> ids) {
        return ids.stream().filter(id -> counted.get(id).alone()).toList();
    }

    /** Commits up to each partition's lowest unfinished job, every commit-interval-ms and whenever the loop is idle. */
    private void commitWhenDue() {
        if (!inFlight.isEmpty() && System.nanoTime() - lastCommitNanos < TimeUnit.MILLISECONDS.toNanos(pacing.commitIntervalMs())) {
            return;
        }
        lastCommitNanos = System.nanoTime();
        if (!acknowledged.isEmpty()) {
            List<String> finished = List.copyOf(acknowledged);
            traffic.untilDone("clearing the attempts of " + finished.size() + " finished jobs", () -> {
                attempts.finished(finished);
                return null;
            });
            acknowledged.clear();
        }
        commit(progress.keySet());
    }

    private void commit(Collection<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition partition : partitions) {
            Progress of = progress.get(partition);
            if (of != null && of.commitable() > of.committed) {
                offsets.put(partition, new OffsetAndMetadata(of.commitable()));
            }
        }
        if (offsets.isEmpty()) {
            return;
        }
        traffic.commit(offsets);
        offsets.forEach((partition, offset) -> {
            Progress of = progress.get(partition);
            if (of != null) {
                of.committed = offset.offset();
            }
        });
    }

    /** Most jobs in the batch (running and queued) is batch-size: beyond it the partitions are paused. */
    private void holdBackWhenFull() {
        if (inFlight.size() >= settings.batchSize()) {
            consumer.pause(consumer.assignment());
            full = true;
        } else if (full) {
            consumer.resume(consumer.assignment());
            full = false;
        }
    }

    private void markDone(List<ConsumerRecord<String, byte[]>> records) {
        for (ConsumerRecord<String, byte[]> record : records) {
            Progress of = progress.get(partition(record));
            if (of != null) {
                of.pending.remove(record.offset());
            }
        }
    }

    private static TopicPartition partition(ConsumerRecord<String, byte[]> record) {
        return new TopicPartition(record.topic(), record.partition());
    }

    /** Results (and dead letters) to publish together, then mark done. */
    private final class Answers {
        final List<ProducerRecord<String, byte[]>> letters = new ArrayList<>();
        final List<ProducerRecord<String, byte[]>> results = new ArrayList<>();
        final List<ConsumerRecord<String, byte[]>> answered = new ArrayList<>();
        final List<String> ids = new ArrayList<>();
        final List<String> kept = new ArrayList<>();

        void add(JobRecords.Delivery delivery, JobResult result, boolean unfit) {
            results.add(io.resultRecord(result));
            answered.add(delivery.record());
            ids.add(result.requestId());
            if (unfit) {
                letters.add(io.deadLetter(delivery.record(), result.error()));
                meters.deadLetteredUnfit.increment();
                LOG.warnf("job %s cannot be generated, dead-lettered to %s: %s", result.requestId(), io.jobDlqTopic(),
                        result.error().message());
            }
        }

        void publish() {
            if (isEmpty()) {
                return;
            }
            traffic.publish(records());
            finish();
        }

        boolean isEmpty() {
            return results.isEmpty() && letters.isEmpty();
        }

        List<ProducerRecord<String, byte[]>> records() {
            List<ProducerRecord<String, byte[]>> all = new ArrayList<>(letters);
            all.addAll(results);
            return all;
        }

        /** The broker has them: their offsets may be committed, their attempts forgotten. */
        void finish() {
            markDone(answered);
            for (String id : ids) {
                cancels.forget(id);
                if (!kept.contains(id)) {
                    acknowledged.add(id);
                }
            }
        }
    }

    /**
     * Revoked partitions: done offsets committed, their jobs dropped without a result. Partitions assigned while the
     * loop waits on a dependency, or holds back while full, are paused at once, like the others.
     */
    private final class Rebalances implements ConsumerRebalanceListener {

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (partitions.isEmpty()) {
                return;
            }
            LOG.infof("job partitions revoked: %s", partitions);
            settle(false); // what the broker already acknowledged is committed, not redone by the new owner
            commit(partitions);
            List<InFlight> leaving = inFlight.values().stream().filter(job -> partitions.contains(job.partition())).toList();
            // asked before drop() cancels them: which alone jobs were still queued
            List<String> neverStarted = queuedAlone(leaving);
            List<String> firstAttempts = new ArrayList<>(drop(partitions).stream().filter(job -> !job.alone).map(InFlight::id).toList());
            // counted by the take() under way (this callback runs inside one of its waits) and not in the batch yet
            List<String> leavingCounted = counted.entrySet().stream()
                    .filter(entry -> partitions.contains(entry.getValue().partition())).map(Map.Entry::getKey).toList();
            firstAttempts.addAll(countedFirst(leavingCounted));
            neverStarted.addAll(countedAlone(leavingCounted));
            leavingCounted.forEach(counted::remove);
            // handing a partition over is no failure: the new owner's attempt is a first one again, so that rebalances
            // during a long job never take it to the dead-letter topic; an alone job that never started gives back the
            // attempt counted when it was queued (no retry: inside poll())
            try {
                if (!firstAttempts.isEmpty()) {
                    attempts.finished(firstAttempts);
                }
                if (!neverStarted.isEmpty()) {
                    attempts.notStarted(neverStarted);
                }
            } catch (RuntimeException e) {
                LOG.warnf("forgetting the attempts of %d jobs handed over failed, their new owner counts them: %s",
                        firstAttempts.size() + neverStarted.size(), Failures.reason(e));
            }
        }

        /**
         * Lost (this member was dropped from the group): nothing can be committed, and the attempts stay counted. A
         * revoke hands the partitions over only after this callback, but lost partitions may be another member's
         * already: forgetting here could erase the count its new owner just raised, and a job that stalls its worker
         * past the poll interval is what the count is for.
         */
        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            LOG.warnf("job partitions lost: %s", partitions);
            counted.values().removeIf(job -> partitions.contains(job.partition()));
            drop(partitions);
        }

        /** Their jobs leave the batch without a result; the jobs dropped. */
        private List<InFlight> drop(Collection<TopicPartition> partitions) {
            List<InFlight> dropped = new ArrayList<>();
            for (Iterator<InFlight> it = inFlight.values().iterator(); it.hasNext(); ) {
                InFlight job = it.next();
                if (partitions.contains(job.partition())) {
                    rows.cancel(job.unit);
                    rowsCancelled.increment(job.completions.length - job.finished);
                    it.remove();
                    dropped.add(job);
                }
            }
            partitions.forEach(progress::remove);
            return dropped;
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (traffic.waiting() || full) {
                consumer.pause(consumer.assignment());
            }
        }
    }
}
