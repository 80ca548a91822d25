package io.steergate.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.steergate.intervention.InterventionRegistry;
import io.steergate.messages.Job;
import io.steergate.messages.JobResult;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The worker role: consumes steer.jobs, generates each poll's jobs as one batch (dynamic batching: a poll returns
 * everything that queued while the last batch ran, up to the batch size), publishes one JobResult per job to
 * steer.job-results and commits the offsets only after the broker acknowledged every result. Stateless: a job
 * redelivered after a crash carries its seed, so it regenerates the same text.
 * It owns a plain KafkaConsumer rather than a Reactive Messaging channel because batching needs control of poll().
 */
@ApplicationScoped
public class JobWorker {

    private static final Logger LOG = Logger.getLogger(JobWorker.class);

    @Inject
    ModelRuntime runtime;

    @Inject
    ModelConfig modelConfig;

    @Inject
    InterventionRegistry registry;

    @Inject
    PlanMaps plans;

    @Inject
    WorkerConfig config;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry metrics;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @ConfigProperty(name = "steergate.role.worker", defaultValue = "true")
    boolean workerRole;

    private volatile boolean running;
    private volatile long lastPollNanos;
    private Thread thread;
    private KafkaConsumer<String, byte[]> consumer;
    private KafkaProducer<String, byte[]> producer;
    private KafkaClientMetrics consumerMetrics;
    private DistributionSummary batchSizes;
    private DistributionSummary tokensPerSecond;

    void start(@Observes StartupEvent event) throws Exception {
        if (!workerRole) {
            return;
        }
        runtime.load(modelConfig);
        registry.registerServedModel(runtime.ref().name(), runtime.ref().fingerprint(), runtime.config().nLayers(), runtime.config().dim());
        consumer = new KafkaConsumer<>(consumerProperties(), new StringDeserializer(), new ByteArrayDeserializer());
        producer = new KafkaProducer<>(producerProperties(), new StringSerializer(), new ByteArraySerializer());
        consumerMetrics = new KafkaClientMetrics(consumer);
        consumerMetrics.bindTo(metrics); // kafka_consumer_fetch_manager_records_lag_max is the queue lag to watch
        batchSizes = DistributionSummary.builder("steergate.worker.batch.size").description("Jobs generated together")
                .publishPercentileHistogram().register(metrics);
        tokensPerSecond = DistributionSummary.builder("steergate.worker.tokens.per.second")
                .description("Generated tokens per second of generation time, per batch").register(metrics);
        running = true;
        lastPollNanos = System.nanoTime();
        thread = new Thread(this::run, "job-worker");
        thread.start();
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        running = false;
        if (thread != null) {
            consumer.wakeup();
            thread.join(30_000);
            consumerMetrics.close();
            producer.close();
        }
        runtime.close();
    }

    /** Ready when the model is loaded and the loop polled within the last minute (a batch takes far less). */
    public boolean healthy() {
        return !workerRole || (running && runtime.loaded() && System.nanoTime() - lastPollNanos < TimeUnit.MINUTES.toNanos(1));
    }

    private void run() {
        consumer.subscribe(List.of(config.jobsTopic()));
        try {
            while (running) {
                lastPollNanos = System.nanoTime();
                List<ConsumerRecord<String, byte[]>> records = gather();
                if (records.isEmpty()) {
                    continue;
                }
                for (int from = 0; from < records.size(); from += config.batchSize()) {
                    process(records.subList(from, Math.min(records.size(), from + config.batchSize())));
                }
                commit(records);
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } catch (RuntimeException e) {
            LOG.errorf(e, "job worker stopped");
            running = false;
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** One poll, then a short second one so that jobs arriving together share a batch. */
    private List<ConsumerRecord<String, byte[]>> gather() {
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        consumer.poll(Duration.ofMillis(500)).forEach(records::add);
        if (!records.isEmpty() && records.size() < config.batchSize() && config.batchWaitMs() > 0) {
            consumer.poll(Duration.ofMillis(config.batchWaitMs())).forEach(records::add);
        }
        return records;
    }

    private void process(List<ConsumerRecord<String, byte[]>> records) {
        List<Job> jobs = new ArrayList<>(records.size());
        for (ConsumerRecord<String, byte[]> record : records) {
            try {
                jobs.add(json.readValue(record.value(), Job.class));
            } catch (Exception e) {
                // Only the gateway writes jobs: an unreadable one is a bug, reported loudly, and the worker goes on.
                metrics.counter("steergate.worker.jobs.unreadable").increment();
                LOG.errorf("unreadable job at %s-%d@%d skipped: %s", record.topic(), record.partition(), record.offset(), e.getMessage());
            }
        }
        if (jobs.isEmpty()) {
            return;
        }
        JobBatch.Outcome outcome = JobBatch.run(jobs, runtime.generator(), runtime.ref(), runtime.config().seqLen(),
                plans::resolve, System.currentTimeMillis());
        batchSizes.record(jobs.size());
        metrics.counter("steergate.worker.tokens.generated").increment(outcome.generatedTokens());
        if (outcome.generateMs() > 0) {
            tokensPerSecond.record(outcome.generatedTokens() * 1000.0 / outcome.generateMs());
        }
        metrics.timer("steergate.worker.generate").record(Duration.ofMillis(outcome.generateMs()));
        publish(outcome.results());
    }

    /** Sends every result and waits for the broker; retried until it succeeds, because offsets wait on it. */
    private void publish(List<JobResult> results) {
        for (int attempt = 1; running; attempt++) {
            try {
                List<Future<RecordMetadata>> acks = new ArrayList<>(results.size());
                for (JobResult result : results) {
                    acks.add(producer.send(new ProducerRecord<>(config.jobResultsTopic(), result.requestId(), json.writeValueAsBytes(result))));
                }
                for (Future<RecordMetadata> ack : acks) {
                    ack.get(30, TimeUnit.SECONDS);
                }
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                LOG.warnf("publishing %d job results failed (attempt %d), retrying: %s", results.size(), attempt, e.getMessage());
                sleepQuietly(Math.min(5_000, 200L * attempt));
            }
        }
    }

    private void commit(List<ConsumerRecord<String, byte[]>> records) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            offsets.merge(new TopicPartition(record.topic(), record.partition()), new OffsetAndMetadata(record.offset() + 1),
                    (a, b) -> a.offset() >= b.offset() ? a : b);
        }
        try {
            consumer.commitSync(offsets);
        } catch (RuntimeException e) {
            // After a rebalance the new owner redoes these jobs; the gateway keeps the first result per request.
            LOG.warnf("committing job offsets failed, jobs may be generated again: %s", e.getMessage());
        }
    }

    private Properties consumerProperties() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, config.batchSize());
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "steergate-worker");
        return props;
    }

    private Properties producerProperties() {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 1);
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "steergate-worker");
        return props;
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
