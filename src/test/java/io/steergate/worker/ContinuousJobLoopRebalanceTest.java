package io.steergate.worker;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.steergate.kafka.KafkaClientSettings;
import io.steergate.testing.EmbeddedKafka;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two continuous job loops of one consumer group on a real broker, with the worker's own consumer settings: a worker
 * joining while the first one generates takes partitions from it, and the first one keeps the jobs of the partitions
 * it keeps running (cooperative rebalancing): they finish once and are never generated again. Results go to a
 * MockProducer per worker (the results' path is ContinuousJobLoopTest's), the decode core is a stand-in.
 */
class ContinuousJobLoopRebalanceTest {

    static final String JOBS = "steer.jobs.rebalance-test";
    static final int PARTITIONS = 4;
    static final Duration WAIT = Duration.ofSeconds(60);
    static final ObjectMapper JSON = new ObjectMapper();

    static EmbeddedKafka kafka;

    final String group = "rebalance-test-" + UUID.randomUUID();
    final JobLoopTest.InMemoryAttempts attempts = new JobLoopTest.InMemoryAttempts();
    final List<Worker> workers = new ArrayList<>();

    @BeforeAll
    static void startBroker() {
        kafka = new EmbeddedKafka(PARTITIONS).start();
        kafka.createTopics(PARTITIONS, JOBS);
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    /** One worker: the loop on its own thread with a real consumer, its own results and stand-in decode core. */
    final class Worker {
        final StandInRows rows = new StandInRows(64);
        final MockProducer<String, byte[]> results = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
        final ContinuousJobLoop loop;
        final Thread thread;

        Worker(String name) {
            Properties props = JobWorker.consumerProperties(new KafkaClientSettings(Map.of("bootstrap.servers", kafka.bootstrapServers())),
                    group, 32);
            SimpleMeterRegistry metrics = new SimpleMeterRegistry();
            JobBatchTest.StandInModel model = new JobBatchTest.StandInModel();
            loop = new ContinuousJobLoop(new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer()), results,
                    attempts, rows,
                    (job, now) -> JobBatch.prepare(job, 0, model, JobBatchTest.MODEL, JobBatchTest.LIMITS.contextLength(),
                            JobBatchTest.NO_STEERING, JobBatch.ProbeResolver.NONE, now),
                    new JobTokenPublisher(new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer()),
                            "steer.job-tokens", JSON, metrics),
                    new JobCancels(new MockConsumer<>("latest"), "steer.job-cancels", JSON, Duration.ofMinutes(10), 1000,
                            System::currentTimeMillis),
                    JobBatchTest.MODEL, JSON, metrics, new JobLoop.Settings(JOBS, JobLoopTest.RESULTS, JobLoopTest.DLQ, 32, 0, 3),
                    new ContinuousJobLoop.Pacing(1, 5, 1));
            thread = new Thread(loop, name);
            thread.start();
            workers.add(this);
        }

        List<String> answered() {
            return JobLoopTest.sent(results, JobLoopTest.RESULTS).stream().map(ProducerRecord::key).toList();
        }

        Set<String> submittedPrompts() {
            Set<String> prompts = new TreeSet<>();
            rows.submitted.forEach(unit -> prompts.add(unit.prompt()));
            return prompts;
        }
    }

    @AfterEach
    void stopWorkers() throws InterruptedException {
        for (Worker worker : workers) {
            worker.loop.stop();
        }
        for (Worker worker : workers) {
            worker.thread.join(10_000);
            assertFalse(worker.thread.isAlive(), "the loop ends on stop()");
        }
    }

    @Test
    void aWorkerJoiningTakesPartitionsAndTheFirstWorkersRetainedJobsFinishOnceWithoutRestarting() throws Exception {
        Worker first = new Worker("first-worker");
        try (KafkaProducer<String, byte[]> jobs = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()),
                new StringSerializer(), new ByteArraySerializer())) {
            for (int p = 0; p < PARTITIONS; p++) {
                // "held": each row stops after 3 of its 8 tokens until released, so all four run when the second joins
                jobs.send(new ProducerRecord<>(JOBS, p, "job-p" + p, JSON.writeValueAsBytes(
                        ContinuousJobLoopTest.job("job-p" + p, "held p" + p, 8)))).get();
            }
        }
        await().atMost(WAIT).until(() -> first.rows.submitted.size() == PARTITIONS && first.rows.steps > 5);

        Worker second = new Worker("second-worker");
        // the second worker takes jobs once its partitions were revoked from the first one
        await().atMost(WAIT).until(() -> !second.rows.submitted.isEmpty());
        first.rows.hold = false;
        second.rows.hold = false;
        await().atMost(WAIT).until(() -> {
            Set<String> answered = new TreeSet<>(first.answered());
            answered.addAll(second.answered());
            return answered.size() == PARTITIONS;
        });

        List<String> all = new ArrayList<>(first.answered());
        all.addAll(second.answered());
        assertEquals(List.of("job-p0", "job-p1", "job-p2", "job-p3"), all.stream().sorted().toList(), "each job answered once");
        int moved = first.rows.cancelled.size();
        assertEquals(PARTITIONS / 2, moved, "the joining worker took half of the partitions, and only those rows were dropped");
        assertEquals(PARTITIONS, first.rows.submitted.size(), "the kept jobs were not submitted again");
        assertEquals(PARTITIONS - moved, first.answered().size(), "the first worker finished the jobs of the partitions it kept");
        Set<String> keptPrompts = first.submittedPrompts();
        keptPrompts.removeAll(second.submittedPrompts());
        assertEquals(PARTITIONS - moved, keptPrompts.size(), "the second worker generated only the jobs that moved: " + keptPrompts);
    }
}
