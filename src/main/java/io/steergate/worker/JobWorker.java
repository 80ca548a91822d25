package io.steergate.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.steergate.engine.model.ContinuousBatch;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaConfig;
import io.steergate.intervention.InterventionRegistry;
import io.steergate.kafka.JobTopics;
import io.steergate.kafka.KafkaClientSettings;
import io.steergate.messages.ModelRef;
import io.steergate.role.ProcessRoles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

/**
 * The worker role: loads the model, registers it, and runs its job loop on its own thread: its model's job topic
 * in ({@link JobTopics}: the worker group's members of one model share its partitions), one JobResult per job on
 * steer.job-results, offsets committed only after the broker acknowledged every result. steergate.worker.scheduling
 * picks the loop: continuous batching ({@link ContinuousJobLoop}, with streamed pieces and cancels read on thread
 * "job-cancels"), or run to completion ({@link JobLoop}: a poll's jobs as batches, the next poll after them).
 * Stateless but for the attempt counts ({@link JobAttempts}): a job redelivered after a crash carries its seed, so
 * it regenerates the same text.
 * It owns plain Kafka clients rather than a Reactive Messaging channel because batching needs control of poll() and
 * waiting out an outage needs pause().
 */
@ApplicationScoped
public class JobWorker {

    private static final Logger LOG = Logger.getLogger(JobWorker.class);
    /** Cancels remembered at once at most: each is a job key and a time, a few MB at most. */
    private static final int MAX_CANCELS_REMEMBERED = 100_000;

    @Inject
    ModelRuntime runtime;

    @Inject
    ModelConfig modelConfig;

    @Inject
    InterventionRegistry registry;

    @Inject
    PlanMaps plans;

    @Inject
    TrainedProbes probes;

    @Inject
    JobAttempts attempts;

    @Inject
    WorkerConfig config;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry metrics;

    @Inject
    KafkaClientSettings kafka;

    @Inject
    ProcessRoles roles;

    @Inject
    JobTopics jobTopics;

    private WorkerLoop loop;
    private Thread thread;
    private KafkaProducer<String, byte[]> producer;
    private KafkaProducer<String, byte[]> tokenProducer;
    private ContinuousRows batch;
    private JobCancels cancels;
    private Thread cancelsThread;
    private KafkaClientMetrics consumerMetrics;
    private volatile boolean warm;

    void start(@Observes StartupEvent event) throws Exception {
        if (!roles.worker()) {
            return;
        }
        checkSettings(config.maxAttempts(), config.batchTokenBudget(), config.warmUp());
        runtime.load(modelConfig);
        registry.registerServedModel(runtime.ref().name(), runtime.ref().fingerprint(), runtime.config().nLayers(), runtime.config().dim(),
                pointWidths(runtime.config()));
        KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(consumerProperties(kafka, config.groupId(), config.batchSize()), new StringDeserializer(), new ByteArrayDeserializer());
        producer = new KafkaProducer<>(producerProperties(kafka), new StringSerializer(), new ByteArraySerializer());
        consumerMetrics = new KafkaClientMetrics(consumer);
        consumerMetrics.bindTo(metrics); // kafka_consumer_fetch_manager_records_lag_max is the queue lag to watch
        ModelRef model = runtime.ref();
        String jobsTopic;
        try {
            jobsTopic = jobTopics.ensure(model.name());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("the worker's model (steergate.model.dir " + modelConfig.dir() + "): " + e.getMessage(), e);
        }
        JobBatch.Limits limits = new JobBatch.Limits(runtime.config().seqLen(), config.batchTokenBudget());
        if (limits.tokenBudget() < limits.contextLength()) {
            LOG.warnf("steergate.worker.batch-token-budget=%d is below the model's context of %d tokens: long jobs run alone",
                    limits.tokenBudget(), limits.contextLength());
        }
        JobBatch.RowGenerator rows = JobBatch.RowGenerator.of(runtime.generator());
        JobLoop.Settings settings = new JobLoop.Settings(jobsTopic, config.jobResultsTopic(), config.jobDlqTopic(),
                config.batchSize(), config.batchWaitMs(), config.maxAttempts());
        if (config.scheduling() == WorkerConfig.Scheduling.RUN_TO_COMPLETION) {
            loop = new JobLoop(consumer, producer, attempts,
                    jobs -> JobBatch.run(jobs, rows, model, limits, plans::resolve, probes::resolve, System.currentTimeMillis()),
                    model, json, metrics, settings);
        } else {
            // a job and its counterfactual are two rows: batch-size jobs may need twice as many
            batch = ContinuousRows.of(new ContinuousBatch(runtime.model(), config.batchTokenBudget(), 2 * config.batchSize(),
                    runtime.decodePath())
                    .joinEvery(config.joinEverySteps()));
            tokenProducer = new KafkaProducer<>(tokenProducerProperties(kafka), new StringSerializer(), new ByteArraySerializer());
            cancels = new JobCancels(new KafkaConsumer<>(cancelsConsumerProperties(kafka), new StringDeserializer(),
                    new ByteArrayDeserializer()), config.jobCancelsTopic(), json, config.cancelMemory(), MAX_CANCELS_REMEMBERED,
                    System::currentTimeMillis);
            cancelsThread = new Thread(cancels, "job-cancels");
            cancelsThread.start();
            loop = new ContinuousJobLoop(consumer, producer, attempts, batch,
                    (job, now) -> JobBatch.prepare(job, 0, rows, model, limits.contextLength(), plans::resolve, probes::resolve, now),
                    new JobTokenPublisher(tokenProducer, config.jobTokensTopic(), json, metrics), cancels, model, json, metrics,
                    settings, new ContinuousJobLoop.Pacing(config.pollIntervalMs(), config.commitIntervalMs(), config.minStepMs()));
        }
        WorkerLoop started = loop;
        BooleanSupplier stopped = () -> !started.traffic().running();
        Duration budget = config.warmUp();
        ContinuousRows continuous = batch;
        // built on the job-worker thread, and only with a budget: its made-up maps span every site of the model
        Supplier<WarmUp.Result> warmingUp = budget.isZero() ? () -> null : () -> {
            WarmUp warmUp = new WarmUp(rows, runtime.config(), model.fingerprint(), 2 * config.batchSize());
            return continuous != null ? warmUp.continuous(continuous, budget, stopped, System::nanoTime)
                    : warmUp.batches(budget, stopped, System::nanoTime);
        };
        thread = new Thread(() -> warmUpThenRun(warmingUp, continuous != null ? continuous::abandon : () -> { },
                () -> warm = true, started), "job-worker");
        thread.start();
    }

    /** Refuses settings the worker cannot run with, naming the setting, before it loads anything. */
    static void checkSettings(int maxAttempts, int batchTokenBudget, Duration warmUp) {
        if (maxAttempts < 2) {
            throw new IllegalStateException("steergate.worker.max-attempts must be at least 2 (a first attempt in a batch, "
                    + "then the one that dead-letters), got " + maxAttempts);
        }
        if (batchTokenBudget < 1) {
            throw new IllegalStateException("steergate.worker.batch-token-budget must be at least 1, got " + batchTokenBudget);
        }
        if (warmUp.isNegative()) {
            throw new IllegalStateException("steergate.worker.warm-up must not be negative (PT0S for none), got " + warmUp);
        }
    }

    /**
     * The job-worker thread: the warm-up (null: none), then the loop, which subscribes, so that the group hands this
     * worker no partition before it is warm. A warm-up that fails is logged, {@code abandon} drops its rows, and the
     * loop starts cold: jobs meet the same failure, and their attempts and dead letters are the place to see it.
     */
    static void warmUpThenRun(Supplier<WarmUp.Result> warmUp, Runnable abandon, Runnable warmed, Runnable loop) {
        try {
            WarmUp.Result result = warmUp.get();
            if (result != null) {
                LOG.infof("warm-up: %d rounds, %d tokens in %d ms (first round %d ms, last %d ms)", result.rounds(),
                        result.tokens(), result.millis(), result.firstRoundMillis(), result.lastRoundMillis());
            }
        } catch (RuntimeException e) {
            abandon.run();
            LOG.warnf("warm-up failed, starting cold: %s", e.toString());
        }
        warmed.run();
        loop.run();
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        if (thread != null) {
            loop.stop();
            thread.join(30_000);
            consumerMetrics.close();
            producer.close();
        }
        if (cancelsThread != null) {
            cancels.stop();
            cancelsThread.join(10_000);
            tokenProducer.close();
        }
        if (batch != null && !thread.isAlive()) {
            batch.close();
        }
        runtime.close();
    }

    /** Each hook point's width in this model, by wire name: what the registry checks uploaded maps against. */
    static Map<String, Integer> pointWidths(LlamaConfig config) {
        Map<String, Integer> widths = new TreeMap<>();
        for (HookPoint point : HookPoint.values()) {
            widths.put(point.wireName(), point.width(config));
        }
        return widths;
    }

    /**
     * Ready when the model is loaded and warmed up, and the job loop runs, polls, and is not waiting on the database or
     * the broker.
     */
    public boolean healthy() {
        return !roles.worker() || (loop != null && warm && loop.healthy() && runtime.loaded());
    }

    /** Whether the warm-up is over (true in a process without the worker role). */
    public boolean warm() {
        return !roles.worker() || warm;
    }

    /**
     * The shared Kafka settings plus the worker's own: manual commits after a batch's results are sent, and cooperative
     * rebalancing, so that a worker joining or leaving the group takes only the partitions that move from the others
     * (their rows are dropped and regenerated by the new owner) and every other running job goes on. Workers before
     * this setting used Kafka's default list [range, cooperative-sticky], which shares cooperative-sticky with this
     * one, so one rolling restart switches a group over (docs/architecture.md 4.1).
     */
    static Properties consumerProperties(KafkaClientSettings kafka, String groupId, int batchSize) {
        return kafka.consumer(Map.of(
                ConsumerConfig.GROUP_ID_CONFIG, groupId,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, batchSize,
                ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName(),
                ConsumerConfig.CLIENT_ID_CONFIG, "steergate-worker"));
    }

    static Properties producerProperties(KafkaClientSettings kafka) {
        return kafka.reliableProducer("steergate-worker", Map.of());
    }

    /**
     * Streamed pieces go out at once (no linger): the client waits on each. A send is made on the decode thread, so
     * it may block on missing metadata (the broker away) for a moment only; the piece is then counted as lost.
     */
    static Properties tokenProducerProperties(KafkaClientSettings kafka) {
        return kafka.reliableProducer("steergate-worker-tokens", Map.of(ProducerConfig.LINGER_MS_CONFIG, 0,
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 200));
    }

    /** Every partition assigned, no group (every worker needs every cancel), nothing committed. */
    static Properties cancelsConsumerProperties(KafkaClientSettings kafka) {
        return kafka.tailingConsumer("steergate-worker-cancels");
    }
}
