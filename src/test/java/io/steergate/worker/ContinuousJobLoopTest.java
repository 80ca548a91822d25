package io.steergate.worker;

import static io.steergate.worker.JobLoopTest.JOBS;
import static io.steergate.worker.JobLoopTest.P0;
import static io.steergate.worker.JobLoopTest.P1;
import static io.steergate.worker.JobLoopTest.P2;
import static io.steergate.worker.JobLoopTest.RESULTS;
import static io.steergate.worker.JobLoopTest.DLQ;
import static io.steergate.worker.JobLoopTest.header;
import static io.steergate.worker.JobLoopTest.record;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.steergate.engine.model.ContinuousBatch;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.messages.Job;
import io.steergate.messages.JobResult;
import io.steergate.messages.JobTokens;
import io.steergate.testing.TestModel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The continuous job loop against Kafka's MockConsumer and MockProducer, an in-memory attempts table and a stand-in
 * decode core ({@link StandInRows}): jobs joining a running batch, per-partition commits, attempts, dead letters,
 * waits on a dependency, rebalances, cancels and streamed pieces; and once on the served model's ContinuousBatch.
 */
class ContinuousJobLoopTest {

    static final String TOKENS = "steer.job-tokens";
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration WAIT = Duration.ofSeconds(20);

    final JobLoopTest.IdleWaitingMockConsumer consumer = new JobLoopTest.IdleWaitingMockConsumer();
    /** Acknowledges every send at once unless a test puts one that waits in its place before start(). */
    MockProducer<String, byte[]> producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    final MockProducer<String, byte[]> tokenProducer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    final JobLoopTest.InMemoryAttempts attempts = new JobLoopTest.InMemoryAttempts();
    final JobBatchTest.StandInModel model = new JobBatchTest.StandInModel();
    final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    final AtomicInteger clock = new AtomicInteger();
    final JobCancels cancels = new JobCancels(new MockConsumer<>("latest"), "steer.job-cancels", JSON, Duration.ofMinutes(10),
            1000, System::currentTimeMillis);
    StandInRows rows = new StandInRows(64);
    /** The decode core the loop drives: {@link #rows} unless a test sets another. */
    ContinuousRows engine;
    volatile JobBatch.PlanResolver resolver = JobBatchTest.NO_STEERING;
    ContinuousJobLoop.Preparer preparer = (job, now) -> JobBatch.prepare(job, 0, model, JobBatchTest.MODEL,
            JobBatchTest.LIMITS.contextLength(), plan -> resolver.resolve(plan), JobBatch.ProbeResolver.NONE, now);
    ContinuousJobLoop loop;
    Thread thread;
    int batchWaitMs = 0;

    void start() {
        loop = new ContinuousJobLoop(consumer, producer, attempts, engine == null ? rows : engine, preparer,
                new JobTokenPublisher(tokenProducer, TOKENS, JSON, metrics), cancels, JobBatchTest.MODEL, JSON, metrics,
                new JobLoop.Settings(JOBS, RESULTS, DLQ, 32, batchWaitMs, 3), new ContinuousJobLoop.Pacing(1, 5, 1));
        consumer.updateBeginningOffsets(Map.of(P0, 0L, P1, 0L, P2, 0L));
        consumer.schedulePollTask(() -> consumer.rebalance(List.of(P0, P1)));
        thread = new Thread(loop, "continuous-job-loop-test");
        thread.start();
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (loop != null) {
            loop.stop();
            thread.join(10_000);
            assertFalse(thread.isAlive(), "the loop ends on stop()");
        }
    }

    static Job job(String id, String prompt, int maxTokens) {
        return new Job(id, "acme", "stories260K", prompt, maxTokens, 0.0, 1.0, 1L, null, List.of(), 0L, false);
    }

    static Job streamed(String id, String prompt, int maxTokens) {
        return new Job(id, "acme", "stories260K", prompt, maxTokens, 0.0, 1.0, 1L, null, List.of(), 0L, false, List.of(), true);
    }

    static byte[] bytes(Job job) {
        try {
            return JSON.writeValueAsBytes(job);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    void deliver(TopicPartition partition, long offset, Job job) {
        deliver(List.of(record(partition, offset, bytes(job))));
    }

    void deliver(List<ConsumerRecord<String, byte[]>> records) {
        consumer.schedulePollTask(() -> records.forEach(consumer::addRecord));
    }

    List<String> resultKeys() {
        return sent(RESULTS).stream().map(ProducerRecord::key).toList();
    }

    List<ProducerRecord<String, byte[]>> sent(String topic) {
        return JobLoopTest.sent(producer, topic);
    }

    JsonNode result(String id) {
        return JobLoopTest.result(producer, id);
    }

    boolean answered(String id) {
        return resultKeys().contains(id);
    }

    List<JobTokens> pieces(String id) {
        List<JobTokens> pieces = new ArrayList<>();
        for (ProducerRecord<String, byte[]> record : tokenProducer.history()) {
            if (record.key().equals(id)) {
                try {
                    pieces.add(JSON.readValue(record.value(), JobTokens.class));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return pieces;
    }

    Long committed(TopicPartition partition) {
        OffsetAndMetadata offset = consumer.committed(Set.of(partition)).get(partition);
        return offset == null ? null : offset.offset();
    }

    StandInRows.Unit unit(String prompt) {
        return rows.submitted.stream().filter(u -> u.prompt().equals(prompt)).findFirst().orElseThrow();
    }

    @Test
    void aShortJobArrivingWhileALongOneRunsJoinsItAndFinishesFirst() {
        start();
        deliver(P0, 0, job("long", "held long", 8));
        await().atMost(WAIT).until(() -> rows.steps > 3);
        deliver(P0, 1, job("short", "short", 2));

        await().atMost(WAIT).until(() -> answered("short"));
        assertFalse(answered("long"), "the long job is still running");
        assertTrue(unit("short").joinedAtStep > 0, "joined the running batch between steps");
        rows.hold = false;
        await().atMost(WAIT).until(() -> answered("long"));

        assertEquals(List.of("short", "long"), resultKeys());
        assertEquals("u0 u1 ", result("short").get("text").asText());
        assertEquals(2, result("short").at("/usage/completionTokens").asInt());
        assertEquals("u0 u1 u2 u3 u4 u5 u6 u7 ", result("long").get("text").asText());
        assertEquals("COMPLETED", result("long").get("status").asText());
        await().atMost(WAIT).until(() -> Long.valueOf(2).equals(committed(P0)));
        assertEquals(2.0, metrics.counter("steergate.worker.rows.joined").count());
        await().atMost(WAIT).until(() -> attempts.rows.isEmpty());
    }

    @Test
    void theLoopsTimeIsRecordedPerPhase() {
        start();
        deliver(P0, 0, job("timed", "timed", 4));
        await().atMost(WAIT).until(() -> Long.valueOf(1).equals(committed(P0)));

        await().atMost(WAIT).until(() -> phaseCount("idle") > 0 && phaseCount("commit") > 0);
        assertEquals(1, phaseCount("take"), "one poll brought jobs");
        assertTrue(phaseCount("step") >= 4, "a step per token");
        assertTrue(phaseCount("settle") >= phaseCount("step"));
    }

    long phaseCount(String phase) {
        return metrics.get("steergate.worker.loop").tag("phase", phase).timer().count();
    }

    @Test
    void anIdleLoopStartsThePolledJobsWithoutWaitingForMore() {
        batchWaitMs = 777;
        start();
        deliver(P0, 0, job("lone", "a lone job", 2));
        await().atMost(WAIT).until(() -> answered("lone"));

        assertFalse(consumer.pollTimeouts.contains(Duration.ofMillis(batchWaitMs)),
                "batch-wait-ms is the run-to-completion loop's: a job arriving later joins the running batch");
    }

    @Test
    void aJobsQueueTimeEndsWhereItsGenerationBegins() {
        start();
        long acceptedAt = System.currentTimeMillis();
        deliver(P0, 0, new Job("slow", "acme", "stories260K", "held slow", 8, 0.0, 1.0, 1L, null, List.of(), acceptedAt, false));
        await().atMost(WAIT).until(() -> !rows.submitted.isEmpty());
        long joinedBy = System.currentTimeMillis();
        int joinedAtStep = rows.steps;
        await().atMost(WAIT).until(() -> rows.steps > joinedAtStep + 200); // each step takes at least min-step-ms, 1 ms
        rows.hold = false;
        await().atMost(WAIT).until(() -> answered("slow"));

        JsonNode result = result("slow");
        assertTrue(result.get("generateMs").asLong() >= 200, "generated over 200 steps: " + result);
        assertTrue(result.get("queueMs").asLong() <= joinedBy - acceptedAt,
                "its queue time ends where its generation begins, not with it: " + result);
    }

    @Test
    void aPartitionsCommitStopsAtItsLowestUnfinishedJob() {
        start();
        deliver(List.of(record(P0, 0, bytes(job("held", "held", 8))), record(P0, 1, bytes(job("p0-short", "a", 1))),
                record(P1, 0, bytes(job("p1-short", "b", 1)))));

        await().atMost(WAIT).until(() -> Long.valueOf(1).equals(committed(P1)));
        assertTrue(answered("p0-short"));
        assertEquals(null, committed(P0), "P0 stays at its unfinished job, not past p0-short");
        assertEquals(1.0, metrics.get("steergate.worker.rows.running").gauge().value());

        rows.hold = false;
        await().atMost(WAIT).until(() -> Long.valueOf(2).equals(committed(P0)));
    }

    @Test
    void theNextStepsRunWhileAResultAwaitsItsAcknowledgementAndOnlyThenIsItsOffsetCommitted() {
        producer = new MockProducer<>(false, null, new StringSerializer(), new ByteArraySerializer());
        start();
        deliver(List.of(record(P0, 0, bytes(job("held", "held", 8))), record(P1, 0, bytes(job("quick", "a", 1)))));

        await().atMost(WAIT).until(() -> answered("quick"));
        int stepsAtSend = rows.steps;
        await().atMost(WAIT).until(() -> rows.steps > stepsAtSend + 5); // the loop did not stop for the broker
        assertEquals(null, committed(P1), "no acknowledgement yet: the offset stays");

        producer.completeNext();
        await().atMost(WAIT).until(() -> Long.valueOf(1).equals(committed(P1)));
        rows.hold = false;
        await().atMost(WAIT).until(() -> answered("held"));
        producer.completeNext();
        await().atMost(WAIT).until(() -> Long.valueOf(1).equals(committed(P0)));
    }

    @Test
    void aResultTheBrokerRefusedIsPublishedAgainBeforeItsOffsetIsCommitted() {
        producer = new MockProducer<>(false, null, new StringSerializer(), new ByteArraySerializer());
        start();
        deliver(P0, 0, job("refused-once", "a", 2));

        await().atMost(WAIT).until(() -> answered("refused-once"));
        assertTrue(producer.errorNext(new org.apache.kafka.common.errors.TimeoutException("broker away")));
        // published again, and this time acknowledged
        await().atMost(WAIT).until(() -> resultKeys().stream().filter("refused-once"::equals).count() == 2);
        assertEquals(null, committed(P0));
        producer.completeNext();
        await().atMost(WAIT).until(() -> Long.valueOf(1).equals(committed(P0)));
        List<ProducerRecord<String, byte[]>> copies = sent(RESULTS);
        assertArrayEquals(copies.get(0).value(), copies.get(1).value(), "the copy is identical");
    }

    @Test
    void aTransientFailurePausesThePartitionsKeepsPollingAndResumes() {
        AtomicReference<Set<TopicPartition>> pausedDuringWait = new AtomicReference<>();
        AtomicReference<Boolean> healthyDuringWait = new AtomicReference<>();
        resolver = JobLoopTest.registryDown(4, () -> {
            healthyDuringWait.set(loop.healthy());
            consumer.schedulePollTask(() -> pausedDuringWait.set(Set.copyOf(consumer.paused())));
        });
        start();
        deliver(List.of(record(P0, 0, bytes(job("a", "a", 2))), record(P0, 1, bytes(job("b", "b", 2)))));

        await().atMost(WAIT).until(() -> Long.valueOf(2).equals(committed(P0)));

        assertEquals(Set.of(P0, P1), pausedDuringWait.get());
        assertEquals(false, healthyDuringWait.get());
        assertEquals("COMPLETED", result("a").get("status").asText());
        assertEquals("COMPLETED", result("b").get("status").asText());
        assertEquals(Set.of(), consumer.paused());
        assertTrue(loop.healthy());
        assertEquals(1, attempts.startFirstCalls.get(), "waiting out an outage counts no attempt");
        assertEquals(Map.of(), attempts.rows);
    }

    @Test
    void aRevokedPartitionsRowsLeaveTheBatchWithoutAResult() {
        start();
        deliver(List.of(record(P0, 0, bytes(job("p0-job", "held p0", 8))), record(P1, 0, bytes(job("p1-job", "held p1", 8)))));
        await().atMost(WAIT).until(() -> rows.steps > 3 && rows.running() == 2);

        consumer.schedulePollTask(() -> consumer.rebalance(List.of(P1, P2)));
        await().atMost(WAIT).until(() -> rows.cancelled.contains(unit("held p0").number));
        rows.hold = false;
        await().atMost(WAIT).until(() -> Long.valueOf(1).equals(committed(P1)));

        assertEquals(List.of("p1-job"), resultKeys());
        assertEquals(null, committed(P0), "the new owner of P0 generates its job");
        assertEquals(1.0, metrics.counter("steergate.worker.rows.cancelled").count());
        await().atMost(WAIT).until(() -> attempts.rows.isEmpty()); // a hand-over is no failed attempt
    }

    /**
     * Jobs redelivered after a crash are counted as they are queued alone behind running work; handed over before they
     * start, they give that attempt back. Before, the count stayed: a second disruption before the queue drained (here
     * a rebalance and back) took them to attempt 3 and the dead-letter topic without their ever having run alone.
     */
    @Test
    void redeliveredJobsQueuedAloneAndHandedOverBeforeTheyStartGiveTheirAttemptBack() {
        attempts.rows.put("x", new JobLoop.Attempt(1, "worker died"));
        attempts.rows.put("y", new JobLoop.Attempt(1, "worker died"));
        start();
        List<ConsumerRecord<String, byte[]>> records = List.of(record(P0, 0, bytes(job("h", "held p0", 8))),
                record(P0, 1, bytes(job("x", "x", 2))), record(P0, 2, bytes(job("y", "y", 2))));
        deliver(records);
        // the held job runs; x and y wait alone for an empty batch, their second attempt counted
        await().atMost(WAIT).until(() -> rows.running() == 1 && attempts.rows.get("x").count() == 2
                && attempts.rows.get("y").count() == 2);

        consumer.schedulePollTask(() -> consumer.rebalance(List.of(P1, P2)));
        await().atMost(WAIT).until(() -> attempts.rows.get("x").count() == 1 && attempts.rows.get("y").count() == 1);
        assertFalse(attempts.rows.containsKey("h"), "a first attempt handed over is forgotten");

        rows.hold = false;
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(P0));
            consumer.seek(P0, 0);
        });
        deliver(records);
        await().atMost(WAIT).until(() -> Long.valueOf(3).equals(committed(P0)));

        for (String id : List.of("h", "x", "y")) {
            assertEquals("COMPLETED", result(id).get("status").asText(), id);
        }
        assertEquals(List.of(), sent(DLQ));
    }

    /**
     * An Error escaping a step (out of memory) goes through the loop's recovery: the batch is abandoned and the
     * partition rewound. Only the job that ran is charged with the error; the jobs queued alone behind it give their
     * attempt back and keep their own last error, so they complete once the job that throws has been dead-lettered.
     */
    @Test
    void anErrorInAStepIsRecordedOnlyOnTheJobThatRanAndTheJobsQueuedBehindItComplete() {
        attempts.rows.put("y", new JobLoop.Attempt(1, "worker died"));
        attempts.rows.put("z", new JobLoop.Attempt(1, "worker died"));
        start();
        byte[] fatal = bytes(job("fatal", "fatal", 2));
        List<ConsumerRecord<String, byte[]>> records = List.of(record(P0, 0, fatal), record(P0, 1, bytes(job("y", "y", 2))),
                record(P0, 2, bytes(job("z", "z", 2))));
        deliver(records);
        // each Error rewinds P0 to the fatal job; the broker then delivers the records again
        await().atMost(WAIT).until(() -> attempts.errors.size() >= 1);
        deliver(records);
        await().atMost(WAIT).until(() -> attempts.rows.get("fatal") != null && attempts.rows.get("fatal").count() == 2
                && attempts.errors.size() >= 2);
        deliver(records);
        await().atMost(WAIT).until(() -> Long.valueOf(3).equals(committed(P0)));

        JsonNode dead = result("fatal");
        assertEquals("JOB_DEAD_LETTERED", dead.at("/error/code").asText());
        String reason = dead.at("/error/message").asText();
        assertTrue(reason.startsWith("attempt 3 of steergate.worker.max-attempts=3: "), reason);
        assertTrue(reason.endsWith("last error: OutOfMemoryError: staged"), reason);
        assertEquals("COMPLETED", result("y").get("status").asText());
        assertEquals("COMPLETED", result("z").get("status").asText());
        assertEquals(1, sent(DLQ).size());
        assertArrayEquals(fatal, sent(DLQ).get(0).value());
        assertEquals(List.of("fatal: OutOfMemoryError: staged", "fatal: OutOfMemoryError: staged"), attempts.errors,
                "the jobs queued behind it are not blamed");
        await().atMost(WAIT).until(() -> attempts.rows.size() == 1);
        assertEquals(Map.of("fatal", new JobLoop.Attempt(3, "OutOfMemoryError: staged")), attempts.rows);
    }

    /**
     * A job this poll counted that waits, not yet in the batch, while another's count waits out the database, and is
     * handed over meanwhile: its attempt is given back. Before, a's first attempt stayed counted and its new owner ran
     * it alone, an attempt nearer the dead-letter topic although it never ran; and b, counted once the database was
     * back though its partition had gone, lost one too.
     */
    @Test
    void jobsCountedButNotYetInTheBatchGiveTheirAttemptsBackWhenHandedOverDuringAWait() {
        attempts.rows.put("b", new JobLoop.Attempt(1, "worker died"));
        attempts.startAloneAway = true;
        start();
        List<ConsumerRecord<String, byte[]>> records = List.of(record(P0, 0, bytes(job("b", "b", 2))),
                record(P0, 1, bytes(job("a", "a", 2))));
        deliver(records);
        await().atMost(WAIT).until(() -> attempts.startAloneFailures.get() > 0);
        assertEquals(new JobLoop.Attempt(1, null), attempts.rows.get("a"), "a's first attempt counted with the poll's");

        consumer.schedulePollTask(() -> consumer.rebalance(List.of(P1, P2)));
        await().atMost(WAIT).until(() -> !consumer.assignment().contains(P0));
        attempts.startAloneAway = false;
        await().atMost(WAIT).until(() -> !loop.traffic().waiting());
        assertFalse(attempts.rows.containsKey("a"), "a never ran: " + attempts.rows);
        assertEquals(new JobLoop.Attempt(1, "worker died"), attempts.rows.get("b"), "b is not counted for a partition gone");

        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(P0));
            consumer.seek(P0, 0);
        });
        deliver(records);
        await().atMost(WAIT).until(() -> Long.valueOf(2).equals(committed(P0)));
        assertEquals("COMPLETED", result("a").get("status").asText());
        assertEquals("COMPLETED", result("b").get("status").asText());
        assertEquals(List.of(false), rows.submitted.stream().filter(u -> u.prompt().equals("a")).map(u -> u.alone).toList());
        assertEquals(List.of(true), rows.submitted.stream().filter(u -> u.prompt().equals("b")).map(u -> u.alone).toList());
        assertEquals(List.of(), sent(DLQ));
    }

    /**
     * An Error while a poll's jobs are taken (here preparing the second) leaves the jobs counted after it out of the
     * batch; the recovery gives their attempts back, so on redelivery they are first attempts again. Before, c ran
     * alone at attempt 2 although it never ran.
     */
    @Test
    void anErrorWhileJobsAreTakenGivesBackTheAttemptsOfThoseNotYetInTheBatch() {
        java.util.concurrent.atomic.AtomicBoolean thrown = new java.util.concurrent.atomic.AtomicBoolean();
        ContinuousJobLoop.Preparer served = preparer;
        preparer = (job, now) -> {
            if (job.requestId().equals("boom") && thrown.compareAndSet(false, true)) {
                throw new OutOfMemoryError("staged");
            }
            return served.prepare(job, now);
        };
        start();
        List<ConsumerRecord<String, byte[]>> records = List.of(record(P0, 0, bytes(job("a", "a", 2))),
                record(P0, 1, bytes(job("boom", "boom", 2))), record(P0, 2, bytes(job("c", "c", 2))));
        deliver(records);
        await().atMost(WAIT).until(() -> attempts.errors.size() == 1);
        assertEquals(List.of("a: OutOfMemoryError: staged"), attempts.errors, "only the job in the batch met it");
        assertEquals(Map.of("a", new JobLoop.Attempt(1, "OutOfMemoryError: staged")), attempts.rows,
                "boom and c were counted and never ran");

        deliver(records);
        await().atMost(WAIT).until(() -> Long.valueOf(3).equals(committed(P0)));
        for (String id : List.of("a", "boom", "c")) {
            assertEquals("COMPLETED", result(id).get("status").asText(), id);
        }
        assertEquals(List.of(false), rows.submitted.stream().filter(u -> u.prompt().equals("c")).map(u -> u.alone).toList());
        assertEquals(List.of(false), rows.submitted.stream().filter(u -> u.prompt().equals("boom")).map(u -> u.alone).toList());
    }

    @Test
    void aFailingStepRecordsTheErrorAndRunsEachOfItsJobsAgainAloneAndTheJobThatFailsAloneFails() {
        start();
        deliver(List.of(record(P0, 0, bytes(job("a", "a", 2))), record(P0, 1, bytes(job("poison", "poison", 2))),
                record(P0, 2, bytes(job("b", "b", 2)))));

        await().atMost(WAIT).until(() -> Long.valueOf(3).equals(committed(P0)));

        assertEquals("COMPLETED", result("a").get("status").asText());
        assertEquals("COMPLETED", result("b").get("status").asText());
        JsonNode failed = result("poison");
        assertEquals("FAILED", failed.get("status").asText());
        assertEquals("generation failed: IllegalStateException: kernel fault", failed.at("/error/message").asText());
        assertEquals(List.of("a: IllegalStateException: kernel fault", "poison: IllegalStateException: kernel fault",
                "b: IllegalStateException: kernel fault"), attempts.errors.subList(0, 3));
        assertEquals(List.of(false, false, false, true, true, true),
                rows.submitted.subList(0, 6).stream().map(u -> u.alone).toList(), "together first, then each alone");
        assertEquals(3, resultKeys().size());
    }

    @Test
    void aJobTheDecodeCoreRefusesFailsAloneAndTheJobBesideItCompletes() {
        start();
        deliver(List.of(record(P0, 0, bytes(job("refused", "refused", 2))), record(P0, 1, bytes(job("beside", "beside", 2)))));

        await().atMost(WAIT).until(() -> Long.valueOf(2).equals(committed(P0)));

        assertEquals("generation failed: IllegalArgumentException: the row's steering does not fit the model",
                result("refused").at("/error/message").asText());
        assertEquals("COMPLETED", result("beside").get("status").asText());
    }

    @Test
    void aJobWhoseEarlierAttemptsEndedWithoutAResultRunsAloneAndAtMaxAttemptsIsDeadLettered() {
        attempts.rows.put("poison", new JobLoop.Attempt(2, "AssertionError: bug"));
        attempts.rows.put("neighbour", new JobLoop.Attempt(1, null));
        start();
        byte[] poison = bytes(job("poison", "x", 2));
        deliver(List.of(record(P0, 0, poison), record(P0, 1, bytes(job("fresh", "fresh", 2))),
                record(P0, 2, bytes(job("neighbour", "neighbour", 2)))));

        await().atMost(WAIT).until(() -> Long.valueOf(3).equals(committed(P0)));

        assertEquals("COMPLETED", result("fresh").get("status").asText());
        assertEquals("COMPLETED", result("neighbour").get("status").asText());
        assertTrue(unit("neighbour").alone);
        assertFalse(unit("fresh").alone);
        JsonNode dead = result("poison");
        assertEquals("JOB_DEAD_LETTERED", dead.at("/error/code").asText());
        assertTrue(dead.at("/error/message").asText().startsWith("attempt 3 of steergate.worker.max-attempts=3: "));
        ProducerRecord<String, byte[]> letter = sent(DLQ).get(0);
        assertArrayEquals(poison, letter.value());
        assertEquals("JOB_DEAD_LETTERED", header(letter, "steergate-error-code"));
        await().atMost(WAIT).until(() -> attempts.rows.size() == 1);
        assertEquals(Map.of("poison", new JobLoop.Attempt(3, "AssertionError: bug")), attempts.rows);
        assertEquals(1.0, metrics.counter("steergate.worker.jobs.dead.lettered", "reason", "max-attempts").count());
    }

    @Test
    void unreadableAndUnfitJobsAreDeadLetteredAndTheJobBesideThemCompletes() {
        start();
        byte[] garbage = "not json".getBytes(StandardCharsets.UTF_8);
        byte[] forged = bytes(JobBatchTest.job("forged", "x", 0.0));
        deliver(List.of(record(P0, 0, garbage), record(P0, 1, forged), record(P0, 2, bytes(job("beside", "beside", 2)))));

        await().atMost(WAIT).until(() -> Long.valueOf(3).equals(committed(P0)));

        List<ProducerRecord<String, byte[]>> letters = sent(DLQ);
        assertEquals(List.of("NOT_JSON", "GENERATION_FAILED"), letters.stream().map(l -> header(l, "steergate-error-code")).toList());
        assertArrayEquals(forged, letters.get(1).value());
        assertEquals("FAILED", result("forged").get("status").asText());
        assertEquals("COMPLETED", result("beside").get("status").asText());
        assertEquals(1.0, metrics.counter("steergate.worker.jobs.dead.lettered", "reason", "unreadable").count());
        assertEquals(1.0, metrics.counter("steergate.worker.jobs.dead.lettered", "reason", "cannot-generate").count());
    }

    @Test
    void aCounterfactualPairFinishesTogetherAndOnlyTheSteeredRowOfAStreamedJobIsStreamed() throws Exception {
        Intervention kindness = InterventionFile.read(Path.of("policies/interventions/kindness.safetensors"));
        resolver = plan -> plan.isEmpty() ? SteeringPlan.NONE : SteeringPlan.of(kindness, 1.0);
        start();
        Job asking = new Job("asking", "acme", "stories260K", "asking", 3, 0.0, 1.0, 1L, null,
                JobBatchCounterfactualTest.KINDNESS, 0L, true, List.of(), true);
        deliver(List.of(record(P0, 0, bytes(asking)), record(P0, 1, bytes(job("plain", "plain", 4))),
                record(P0, 2, bytes(streamed("streamed", "streamed", 5)))));

        await().atMost(WAIT).until(() -> Long.valueOf(3).equals(committed(P0)));

        assertEquals("s0 s1 s2 ", result("asking").get("text").asText());
        assertEquals("u0 u1 u2 ", result("asking").get("counterfactualText").asText());
        assertEquals(3, result("asking").at("/usage/completionTokens").asInt());
        assertEquals(3, result("asking").get("counterfactualTokens").asInt());
        assertEquals(List.of(0, 1, 2), pieces("asking").stream().map(JobTokens::index).toList());
        assertEquals("s0 s1 s2 ", String.join("", pieces("asking").stream().map(JobTokens::text).toList()),
                "the steered row's pieces only");
        assertEquals(List.of(0, 1, 2, 3, 4), pieces("streamed").stream().map(JobTokens::index).toList());
        assertEquals(result("streamed").get("text").asText(), String.join("", pieces("streamed").stream().map(JobTokens::text).toList()));
        assertEquals(List.of(), pieces("plain"), "a job that is not streamed sends no pieces");
        assertEquals(3.0, metrics.counter("steergate.worker.counterfactual.tokens").count());
    }

    @Test
    void aRunningStreamWhoseClientWentAwayStopsAndFailsCancelledWithWhatItGenerated() {
        start();
        deliver(P0, 0, streamed("gone", "held gone", 50));
        await().atMost(WAIT).until(() -> pieces("gone").size() == 3);

        cancels.remember("gone");
        await().atMost(WAIT).until(() -> Long.valueOf(1).equals(committed(P0)));

        JsonNode cancelled = result("gone");
        assertEquals("FAILED", cancelled.get("status").asText());
        assertEquals("CANCELLED", cancelled.at("/error/code").asText());
        assertEquals("the client closed the stream after 3 tokens", cancelled.at("/error/message").asText());
        assertEquals("u0 u1 u2 ", cancelled.get("text").asText());
        assertEquals(3, cancelled.at("/usage/completionTokens").asInt());
        assertEquals("held gone".length(), cancelled.at("/usage/promptTokens").asInt());
        assertEquals(1.0, metrics.counter("steergate.worker.rows.cancelled").count());
        assertEquals(0, cancels.remembered(), "a cancel is forgotten once its job is answered");
    }

    @Test
    void aQueuedJobWhoseClientWentAwayIsAnsweredCancelledWithNoTokens() {
        rows = new StandInRows(1);
        start();
        deliver(List.of(record(P0, 0, bytes(job("first", "held first", 8))), record(P0, 1, bytes(streamed("queued", "queued", 8)))));
        await().atMost(WAIT).until(() -> rows.submitted.size() == 2 && rows.steps > 3);

        cancels.remember("queued");
        await().atMost(WAIT).until(() -> answered("queued"));
        rows.hold = false;
        await().atMost(WAIT).until(() -> Long.valueOf(2).equals(committed(P0)));

        JsonNode cancelled = result("queued");
        assertEquals("CANCELLED", cancelled.at("/error/code").asText());
        assertEquals("the client closed the stream after 0 tokens", cancelled.at("/error/message").asText());
        assertEquals(0, cancelled.at("/usage/completionTokens").asInt());
        assertEquals("queued".length(), cancelled.at("/usage/promptTokens").asInt());
        assertEquals(List.of(), pieces("queued"));
        assertEquals(-1, unit("queued").joinedAtStep, "it never ran");
        assertEquals("COMPLETED", result("first").get("status").asText());
    }

    @Test
    void onTheServedModelAShortJobJoiningALongOneFinishesFirstAndEachHasItsTextAlone() throws Exception {
        try (LlamaModel served = TestModel.load(); ContinuousBatch batch = new ContinuousBatch(served, 16384, 64)) {
            JobBatch.RowGenerator generator = JobBatch.RowGenerator.of(new Generator(served));
            JobBatch.Limits limits = new JobBatch.Limits(served.config().seqLen(), 16384);
            preparer = (job, now) -> JobBatch.prepare(job, 0, generator, JobBatchTest.MODEL, limits.contextLength(),
                    JobBatchTest.NO_STEERING, JobBatch.ProbeResolver.NONE, now);
            engine = ContinuousRows.of(batch);
            Job longJob = new Job("long", "acme", "stories260K", "Once upon a time", 96, 0.8, 0.9, 7L, null, List.of(), 0L,
                    false, List.of(), true);
            Job shortJob = job("short", "Lily went to the park", 4);
            start();
            deliver(P0, 0, longJob);
            await().atMost(WAIT).until(() -> pieces("long").size() >= 2);
            deliver(P0, 1, shortJob);
            await().atMost(WAIT).until(() -> Long.valueOf(2).equals(committed(P0)));
            loop.stop();
            thread.join(10_000);
            loop = null;

            assertEquals(List.of("short", "long"), resultKeys(), "the short job joined and finished first");
            List<JobResult> alone = new ArrayList<>();
            for (Job each : List.of(shortJob, longJob)) {
                alone.addAll(JobBatch.run(List.of(each), generator, JobBatchTest.MODEL, limits, JobBatchTest.NO_STEERING, 0L).results());
            }
            assertEquals(alone.get(0).text(), result("short").get("text").asText());
            assertEquals(alone.get(1).text(), result("long").get("text").asText());
            assertEquals(alone.get(1).usage().completionTokens(), result("long").at("/usage/completionTokens").asInt());
            assertEquals(result("long").get("text").asText(), String.join("", pieces("long").stream().map(JobTokens::text).toList()));
        }
    }
}
