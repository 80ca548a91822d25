package io.steergate.worker;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.messages.Job;
import io.steergate.testing.TestModel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;

/**
 * The job loop against Kafka's MockConsumer and MockProducer, with an in-memory attempts table and a stand-in model:
 * what it does while a dependency is away (pause, keep polling, retry, resume), around a rebalance during that wait,
 * before the broker acknowledges, and with attempts, unreadable records and unexpected failures.
 * Stopping the shared test JVM's PostgreSQL or broker would also hit the other QuarkusTests' background loops, so
 * the transient failures are thrown here as the PostgreSQL driver and the Kafka producer throw them (a mock is fine
 * in a unit test of one class); WorkerFaultsQuarkusTest stages one real failure on the worker's own connection.
 */
class JobLoopTest {

    static final String JOBS = TestModel.JOBS_TOPIC;
    static final String RESULTS = "steer.job-results";
    static final String DLQ = "steer.jobs.dlq";
    static final TopicPartition P0 = new TopicPartition(JOBS, 0);
    static final TopicPartition P1 = new TopicPartition(JOBS, 1);
    static final TopicPartition P2 = new TopicPartition(JOBS, 2);
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration WAIT = Duration.ofSeconds(20);

    /** job_attempts in memory, with the calls the loop made. */
    static final class InMemoryAttempts implements JobLoop.Attempts {
        final Map<String, JobLoop.Attempt> rows = new ConcurrentHashMap<>();
        final AtomicInteger startFirstCalls = new AtomicInteger();
        final List<String> errors = new CopyOnWriteArrayList<>();
        /** While set, startAlone fails as it does with the database away; each failure counted. */
        volatile boolean startAloneAway;
        final AtomicInteger startAloneFailures = new AtomicInteger();

        @Override
        public synchronized Set<String> startFirst(Collection<String> requestIds) {
            startFirstCalls.incrementAndGet();
            Set<String> first = new HashSet<>();
            for (String id : requestIds) {
                if (rows.putIfAbsent(id, new JobLoop.Attempt(1, null)) == null) {
                    first.add(id);
                }
            }
            return first;
        }

        @Override
        public synchronized JobLoop.Attempt startAlone(String requestId) {
            if (startAloneAway) {
                startAloneFailures.incrementAndGet();
                throw new IllegalStateException(new SQLTransientConnectionException("database away"));
            }
            return rows.merge(requestId, new JobLoop.Attempt(1, null), (old, one) -> new JobLoop.Attempt(old.count() + 1, old.lastError()));
        }

        @Override
        public synchronized void notStarted(Collection<String> requestIds) {
            for (String id : requestIds) {
                rows.computeIfPresent(id, (key, old) -> old.count() > 1 ? new JobLoop.Attempt(old.count() - 1, old.lastError()) : old);
            }
        }

        @Override
        public synchronized void recordError(Collection<String> requestIds, String error) {
            for (String id : requestIds) {
                rows.computeIfPresent(id, (key, old) -> new JobLoop.Attempt(old.count(), error));
                errors.add(id + ": " + error);
            }
        }

        @Override
        public synchronized void finished(Collection<String> requestIds) {
            requestIds.forEach(rows::remove);
        }
    }

    /** Like a real consumer, it waits a moment when it has nothing to return, so the loop does not spin. */
    static final class IdleWaitingMockConsumer extends MockConsumer<String, byte[]> {
        /** The timeout of every poll, in order. */
        final List<Duration> pollTimeouts = new CopyOnWriteArrayList<>();

        IdleWaitingMockConsumer() {
            super("earliest");
        }

        @Override
        public ConsumerRecords<String, byte[]> poll(Duration timeout) {
            pollTimeouts.add(timeout);
            ConsumerRecords<String, byte[]> records = super.poll(timeout);
            if (records.isEmpty()) {
                try {
                    Thread.sleep(Math.min(timeout.toMillis(), 5));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return records;
        }
    }

    final IdleWaitingMockConsumer consumer = new IdleWaitingMockConsumer();
    MockProducer<String, byte[]> producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    final InMemoryAttempts attempts = new InMemoryAttempts();
    final JobBatchTest.StandInModel model = new JobBatchTest.StandInModel();
    final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    /** What the plan resolver does on each call; by default no steering. */
    volatile JobBatch.PlanResolver resolver = JobBatchTest.NO_STEERING;
    JobLoop loop;
    Thread thread;

    void start() {
        loop = new JobLoop(consumer, producer, attempts,
                jobs -> JobBatch.run(jobs, model, JobBatchTest.MODEL, JobBatchTest.LIMITS, plan -> resolver.resolve(plan), 0L),
                JobBatchTest.MODEL, JSON, metrics, new JobLoop.Settings(JOBS, RESULTS, DLQ, 32, 0, 3));
        consumer.updateBeginningOffsets(Map.of(P0, 0L, P1, 0L, P2, 0L));
        consumer.schedulePollTask(() -> consumer.rebalance(List.of(P0, P1)));
        thread = new Thread(loop, "job-loop-test");
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

    static byte[] jobBytes(String id) {
        try {
            return JSON.writeValueAsBytes(JobBatchTest.job(id, "prompt of " + id));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Hands the records to the loop at its next poll. */
    void deliver(TopicPartition partition, long firstOffset, byte[]... values) {
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            records.add(record(partition, firstOffset + i, values[i]));
        }
        deliver(records);
    }

    void deliver(List<ConsumerRecord<String, byte[]>> records) {
        consumer.schedulePollTask(() -> records.forEach(consumer::addRecord));
    }

    static ConsumerRecord<String, byte[]> record(TopicPartition partition, long offset, byte[] value) {
        return new ConsumerRecord<>(partition.topic(), partition.partition(), offset, "stories260K", value);
    }

    /** Runs {@code task} on the loop's thread inside its next poll. */
    void duringNextPoll(Runnable task) {
        consumer.schedulePollTask(task);
    }

    List<ProducerRecord<String, byte[]>> sent(String topic) {
        return sent(producer, topic);
    }

    JsonNode result(String id) {
        return result(producer, id);
    }

    static List<ProducerRecord<String, byte[]>> sent(MockProducer<String, byte[]> producer, String topic) {
        return producer.history().stream().filter(r -> r.topic().equals(topic)).toList();
    }

    /** The JSON of the first result published for job {@code id}. */
    static JsonNode result(MockProducer<String, byte[]> producer, String id) {
        ProducerRecord<String, byte[]> record = sent(producer, RESULTS).stream().filter(r -> r.key().equals(id)).findFirst().orElseThrow();
        try {
            return JSON.readTree(record.value());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    Long committed(TopicPartition partition) {
        OffsetAndMetadata offset = consumer.committed(Set.of(partition)).get(partition);
        return offset == null ? null : offset.offset();
    }

    static String header(ProducerRecord<String, byte[]> record, String name) {
        return new String(record.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    /** A resolver that throws what the PostgreSQL driver throws while the server is down, {@code times} times. */
    static JobBatch.PlanResolver registryDown(int times, Runnable duringFailure) {
        AtomicInteger calls = new AtomicInteger();
        return plan -> {
            int call = calls.incrementAndGet();
            if (call <= times) {
                if (call == 2) {
                    duringFailure.run();
                }
                throw new IllegalStateException("reading intervention maps failed",
                        new PSQLException("Connection to localhost:5432 refused", PSQLState.CONNECTION_UNABLE_TO_CONNECT));
            }
            return SteeringPlan.NONE;
        };
    }

    @Test
    void aTransientFailurePausesThePartitionsKeepsPollingRetriesTheSameBatchAndResumes() {
        AtomicReference<Set<TopicPartition>> pausedDuringWait = new AtomicReference<>();
        AtomicReference<Boolean> healthyDuringWait = new AtomicReference<>();
        resolver = registryDown(4, () -> {
            healthyDuringWait.set(loop.healthy());
            // runs inside a poll made while the loop waits: proof that it keeps polling, and of what is paused then
            duringNextPoll(() -> pausedDuringWait.set(Set.copyOf(consumer.paused())));
        });
        start();
        deliver(P0, 0, jobBytes("a"), jobBytes("b"));

        await().atMost(WAIT).until(() -> committed(P0) != null);

        assertEquals(Set.of(P0, P1), pausedDuringWait.get());
        assertEquals(false, healthyDuringWait.get());
        assertEquals("COMPLETED", result("a").get("status").asText());
        assertEquals("COMPLETED", result("b").get("status").asText());
        assertEquals(2L, committed(P0));
        assertEquals(Set.of(), consumer.paused());
        assertTrue(loop.healthy());
        assertEquals(1, attempts.startFirstCalls.get(), "waiting out an outage counts no attempt");
        assertEquals(Map.of(), attempts.rows, "the attempts of finished jobs are forgotten");
        assertEquals(List.of(List.of("prompt of a", "prompt of b")), model.calls, "generated once, together");
    }

    @Test
    void aRebalanceDuringTheWaitDropsTheRevokedPartitionsJobsAndPausesTheNewOnes() {
        AtomicReference<Set<TopicPartition>> pausedAfterRebalance = new AtomicReference<>();
        resolver = registryDown(4, () -> duringNextPoll(() -> {
            consumer.rebalance(List.of(P1, P2)); // P0 goes to another worker, P2 comes to this one
            duringNextPoll(() -> pausedAfterRebalance.set(Set.copyOf(consumer.paused())));
        }));
        start();
        deliver(List.of(record(P0, 0, jobBytes("p0-job")), record(P1, 0, jobBytes("p1-job"))));

        await().atMost(WAIT).until(() -> committed(P1) != null);

        // MockConsumer keeps a revoked partition in paused(); a real consumer forgets it
        assertTrue(pausedAfterRebalance.get().containsAll(Set.of(P1, P2)), pausedAfterRebalance.get().toString());
        assertEquals(List.of("p1-job"), sent(RESULTS).stream().map(ProducerRecord::key).toList());
        assertEquals(List.of(List.of("prompt of p1-job")), model.calls);
        assertEquals(null, committed(P0), "the new owner of P0 generates its job");
        assertEquals(1L, committed(P1));
        assertFalse(consumer.paused().contains(P1) || consumer.paused().contains(P2));
    }

    /**
     * A redelivered job whose count waits out the database while its partition is handed over is not counted once the
     * database is back: before, it was, and then skipped, an attempt it never made.
     */
    @Test
    void aJobToRunAloneHandedOverWhileItsCountWaitsIsNotCounted() {
        attempts.rows.put("p0-job", new JobLoop.Attempt(1, "worker died"));
        attempts.startAloneAway = true;
        start();
        deliver(List.of(record(P0, 0, jobBytes("p0-job"))));
        await().atMost(WAIT).until(() -> attempts.startAloneFailures.get() > 0);

        consumer.schedulePollTask(() -> consumer.rebalance(List.of(P1, P2)));
        await().atMost(WAIT).until(() -> !consumer.assignment().contains(P0));
        attempts.startAloneAway = false;
        deliver(List.of(record(P1, 0, jobBytes("p1-job"))));
        await().atMost(WAIT).until(() -> committed(P1) != null);

        assertEquals(new JobLoop.Attempt(1, "worker died"), attempts.rows.get("p0-job"));
        assertEquals(List.of(List.of("prompt of p1-job")), model.calls);
        assertEquals(null, committed(P0), "the new owner of P0 generates its job");
    }

    @Test
    void offsetsWaitForTheBrokersAcknowledgementAndABrokerErrorIsWaitedOut() {
        producer = new MockProducer<>(false, null, new StringSerializer(), new ByteArraySerializer());
        start();
        deliver(P0, 0, jobBytes("a"));

        await().atMost(WAIT).until(() -> sent(RESULTS).size() == 1);
        assertEquals(null, committed(P0), "nothing is committed before the broker acknowledges the result");

        producer.errorNext(new TimeoutException("Expiring 1 record(s): broker unreachable"));
        await().atMost(WAIT).until(() -> sent(RESULTS).size() == 2);
        assertEquals(null, committed(P0));
        assertFalse(loop.healthy(), "not ready while the broker is away");
        assertEquals(Set.of(P0, P1), consumer.paused());

        producer.completeNext();
        await().atMost(WAIT).until(() -> committed(P0) != null);
        assertEquals(1L, committed(P0));
        assertEquals(List.of(List.of("prompt of a")), model.calls, "published again, not generated again");
        await().atMost(WAIT).until(() -> loop.healthy());
    }

    @Test
    void aJobWhoseEarlierAttemptsEndedWithoutAResultRunsAloneAndAtMaxAttemptsIsDeadLettered() {
        attempts.rows.put("poison", new JobLoop.Attempt(2, "AssertionError: bug"));
        attempts.rows.put("neighbour", new JobLoop.Attempt(1, null));
        start();
        byte[] poison = jobBytes("poison");
        deliver(P0, 0, poison, jobBytes("fresh-1"), jobBytes("neighbour"), jobBytes("fresh-2"));

        await().atMost(WAIT).until(() -> committed(P0) != null);

        assertEquals(4L, committed(P0));
        assertEquals(List.of(List.of("prompt of fresh-1", "prompt of fresh-2"), List.of("prompt of neighbour")), model.calls);
        assertEquals("COMPLETED", result("neighbour").get("status").asText());
        JsonNode dead = result("poison");
        assertEquals("FAILED", dead.get("status").asText());
        assertEquals("JOB_DEAD_LETTERED", dead.at("/error/code").asText());
        String reason = dead.at("/error/message").asText();
        assertTrue(reason.startsWith("attempt 3 of steergate.worker.max-attempts=3: "), reason);
        assertTrue(reason.endsWith("last error: AssertionError: bug"), reason);
        ProducerRecord<String, byte[]> letter = sent(DLQ).get(0);
        assertArrayEquals(poison, letter.value());
        assertEquals("stories260K", letter.key());
        assertEquals("JOB_DEAD_LETTERED", header(letter, "steergate-error-code"));
        assertEquals(reason, header(letter, "steergate-error-message"));
        assertEquals(Map.of("poison", new JobLoop.Attempt(3, "AssertionError: bug")), attempts.rows,
                "finished jobs are forgotten, the dead-lettered one is kept so that a redelivery is dead-lettered again");
        assertEquals(1.0, metrics.counter("steergate.worker.jobs.dead.lettered", "reason", "max-attempts").count());
        assertEquals(1.0, metrics.counter("steergate.worker.jobs.retried.alone").count());
    }

    @Test
    void unreadableRecordsGoToTheJobDeadLetterTopicWithTheReasonAndTheNextJobCompletes() {
        start();
        byte[][] bad = {
            "not json".getBytes(StandardCharsets.UTF_8),
            "[1,2]".getBytes(StandardCharsets.UTF_8),
            "{\"prompt\":\"no id\"}".getBytes(StandardCharsets.UTF_8),
            "{\"requestId\":\"bad id\\u0000\"}".getBytes(StandardCharsets.UTF_8),
        };
        deliver(P0, 0, bad[0], bad[1], bad[2], bad[3], jobBytes("after"));

        await().atMost(WAIT).until(() -> committed(P0) != null);

        List<ProducerRecord<String, byte[]>> letters = sent(DLQ);
        assertEquals(4, letters.size());
        for (int i = 0; i < bad.length; i++) {
            assertArrayEquals(bad[i], letters.get(i).value());
        }
        assertEquals(List.of("NOT_JSON", "NOT_AN_OBJECT", "INVALID_ID", "INVALID_ID"),
                letters.stream().map(l -> header(l, "steergate-error-code")).toList());
        assertTrue(header(letters.get(0), "steergate-error-message").startsWith("not JSON: "));
        assertEquals("requestId: missing", header(letters.get(2), "steergate-error-message"));
        assertEquals("COMPLETED", result("after").get("status").asText());
        assertEquals(5L, committed(P0));
        assertEquals(4.0, metrics.counter("steergate.worker.jobs.dead.lettered", "reason", "unreadable").count());
    }

    @Test
    void aJobThatCannotBeGeneratedFailsAndIsDeadLetteredAndTheJobBesideItCompletes() throws Exception {
        start();
        byte[] forged = JSON.writeValueAsBytes(JobBatchTest.job("forged", "x", 0.0));
        deliver(P0, 0, forged, jobBytes("beside"));

        await().atMost(WAIT).until(() -> committed(P0) != null);

        List<ProducerRecord<String, byte[]>> letters = sent(DLQ);
        assertEquals(1, letters.size());
        assertArrayEquals(forged, letters.get(0).value());
        assertEquals("GENERATION_FAILED", header(letters.get(0), "steergate-error-code"));
        assertEquals("job cannot be generated: IllegalArgumentException: topP must be in (0, 1], got 0.0",
                header(letters.get(0), "steergate-error-message"));
        assertEquals("FAILED", result("forged").get("status").asText());
        assertEquals("COMPLETED", result("beside").get("status").asText());
        assertEquals(2L, committed(P0));
        assertEquals(1.0, metrics.counter("steergate.worker.jobs.dead.lettered", "reason", "cannot-generate").count());
    }

    @Test
    void aCounterfactualIsPublishedWithItsJobsResultAndItsTokensAreCountedApart() throws Exception {
        Intervention kindness = InterventionFile.read(Path.of("policies/interventions/kindness.safetensors"));
        resolver = plan -> plan.isEmpty() ? SteeringPlan.NONE : SteeringPlan.of(kindness, 1.0);
        start();
        Job asking = new Job("asking", "acme", "stories260K", "prompt of asking", 8, 0.0, 1.0, 1L, null,
                JobBatchCounterfactualTest.KINDNESS, 0L, true);
        deliver(P0, 0, JSON.writeValueAsBytes(asking), jobBytes("plain"));

        await().atMost(WAIT).until(() -> committed(P0) != null);

        // the stand-in answers steered rows "steered: " with 5 tokens, unsteered ones "done: " with 2
        assertEquals("steered: prompt of asking", result("asking").get("text").asText());
        assertEquals("done: prompt of asking", result("asking").get("counterfactualText").asText());
        assertEquals(5, result("asking").at("/usage/completionTokens").asInt());
        assertTrue(result("plain").get("counterfactualText").isNull());
        assertEquals(2.0, metrics.counter("steergate.worker.counterfactual.tokens").count());
        assertEquals(5.0 + 2 + 2, metrics.counter("steergate.worker.tokens.generated").count());
    }

    @Test
    void aDeadLetterLargerThanTheLimitKeepsItsFirstBytesAndSaysHowLongItWas() {
        start();
        byte[] huge = new byte[JobRecords.DEAD_LETTER_MAX_BYTES + 1000];
        Arrays.fill(huge, (byte) 'x');
        deliver(P0, 0, huge);

        await().atMost(WAIT).until(() -> committed(P0) != null);

        ProducerRecord<String, byte[]> letter = sent(DLQ).get(0);
        assertEquals(JobRecords.DEAD_LETTER_MAX_BYTES, letter.value().length);
        assertEquals(String.valueOf(huge.length), header(letter, "steergate-truncated-from"));
        assertEquals("NOT_JSON", header(letter, "steergate-error-code"));
    }

    @Test
    void anUnexpectedFailureIsRecordedAndTheRecordsComeAgainToRunAlone() {
        AtomicInteger calls = new AtomicInteger();
        resolver = plan -> {
            if (calls.incrementAndGet() == 1) {
                throw new AssertionError("bug in the loop"); // not an exception anything expects
            }
            return SteeringPlan.NONE;
        };
        start();
        deliver(P0, 0, jobBytes("x"), jobBytes("y"));

        await().atMost(WAIT).until(() -> attempts.errors.size() == 2);
        assertEquals(List.of("x: AssertionError: bug in the loop", "y: AssertionError: bug in the loop"), attempts.errors);
        await().atMost(WAIT).until(() -> consumer.position(P0) == 0L);
        assertEquals(null, committed(P0));

        deliver(P0, 0, jobBytes("x"), jobBytes("y")); // the broker delivers them again from the rewound position
        await().atMost(WAIT).until(() -> committed(P0) != null);

        assertEquals(2L, committed(P0));
        assertEquals(List.of(List.of("prompt of x"), List.of("prompt of y")), model.calls, "each alone after the failure");
        assertEquals("COMPLETED", result("x").get("status").asText());
        assertTrue(loop.healthy());
    }

    @Test
    void stopEndsTheLoopWhileItWaitsOnADependency() throws InterruptedException {
        resolver = registryDown(Integer.MAX_VALUE, () -> { });
        start();
        deliver(P0, 0, jobBytes("a"));
        await().atMost(WAIT).until(() -> !consumer.paused().isEmpty());

        loop.stop();
        thread.join(10_000);

        assertFalse(thread.isAlive());
        assertTrue(consumer.closed());
        assertEquals(List.of(), sent(RESULTS));
        loop = null;
    }
}
