package io.steergate.outbox;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.steergate.kafka.KafkaClientSettings;
import io.steergate.messages.SafeText;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import io.steergate.role.ProcessRoles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Publishes outbox rows in id order and deletes them once the broker has acknowledged them. Runs on one thread in
 * the gateway role; woken right after a commit that appended rows, otherwise polls. A crash between the broker's ack
 * and the delete republishes the same bytes, which the delivery rules allow (every copy for one id is identical).
 * It uses the plain Kafka producer rather than a Reactive Messaging emitter because it needs raw bytes, per-record
 * topics and headers, and a synchronous ack per batch before the rows may go.
 */
@ApplicationScoped
public class OutboxRelay {

    private static final Logger LOG = Logger.getLogger(OutboxRelay.class);
    private static final int BATCH = 500;
    private static final int PASS_TIMEOUT_S = 180;

    @Inject
    EntityManager entities;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry metrics;

    @Inject
    KafkaClientSettings kafka;

    @Inject
    ProcessRoles roles;

    @ConfigProperty(name = "steergate.outbox.poll-ms", defaultValue = "250")
    long pollMs;

    /** Refusals (not transient failures) after which a record is set aside instead of retried. */
    @ConfigProperty(name = "steergate.outbox.max-attempts", defaultValue = "5")
    int maxAttempts;

    private final Semaphore signal = new Semaphore(0);
    private final AtomicLong backlog = new AtomicLong();
    private final AtomicLong setAside = new AtomicLong();
    private volatile boolean running;
    private volatile boolean healthy;
    private Thread thread;
    private KafkaProducer<byte[], byte[]> producer;
    /** Asked only when a pass ends with every row failed transiently; made on first need, on the relay's thread. */
    private Admin admin;
    private Counter published;
    /** Per row: from its append (in the writer's transaction) to the relay reading it; the writer's commit and the wake-up. */
    private Timer appendToRead;
    /** Per batch: from reading the rows to the broker's acknowledgement of all of them. */
    private Timer readToAck;

    void start(@Observes StartupEvent event) {
        if (!roles.gateway()) {
            return;
        }
        producer = new KafkaProducer<>(producerProperties(kafka), new ByteArraySerializer(), new ByteArraySerializer());
        published = Counter.builder("steergate.outbox.published").description("Outbox records published to Kafka").register(metrics);
        appendToRead = stage("outbox-wait", "from a row's append to the relay reading it (the writer's commit, the wake-up)");
        readToAck = stage("outbox-send", "from the relay reading a batch to the broker acknowledging all of it");
        // rows still waiting after the last batch: grows when the broker is away or slower than the gateway
        metrics.gauge("steergate.outbox.backlog", backlog);
        // records the broker refused max-attempts times: kept in the outbox table (set_aside_at) for an operator
        metrics.gauge("steergate.outbox.set.aside", setAside);
        running = true;
        thread = new Thread(this::run, "outbox-relay");
        thread.setDaemon(true);
        thread.start();
    }

    /** A step of a request's way through the gateway, for finding where its time goes; p50 and p99 published. */
    private Timer stage(String stage, String description) {
        return Timer.builder("steergate.gateway.stage").tag("stage", stage).description(description)
                .publishPercentiles(0.5, 0.99).register(metrics);
    }

    /** The shared Kafka settings plus the relay's own, which the delivery rules depend on. */
    static Properties producerProperties(KafkaClientSettings kafka) {
        return kafka.reliableProducer("steergate-outbox-relay", Map.of(
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 16 * 1024 * 1024,
                // while the broker is away a batch fails within these bounds (well inside its transaction's timeout)
                // and is retried, instead of holding its rows locked until the transaction reaper aborts it
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000,
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000));
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        running = false;
        if (thread != null) {
            wake();
            thread.join(10_000);
            producer.close();
            if (admin != null) {
                admin.close(Duration.ofSeconds(5));
            }
        }
    }

    /** Asks the relay to look for new rows now. */
    public void wake() {
        signal.release();
    }

    /** True while the relay thread runs and its last attempt did not fail. */
    public boolean healthy() {
        return !roles.gateway() || (running && healthy);
    }

    private void run() {
        healthy = true;
        long failures = 0;
        boolean recount = true;
        while (running) {
            try {
                int sent = publishBatch(recount || failures > 0);
                if (failures > 0) {
                    LOG.infof("outbox relay recovered after %d failed attempts", failures);
                }
                failures = 0;
                healthy = true;
                recount = false;
                if (sent < BATCH) {
                    // woken: rows were committed; timed out: idle, so the gauges are brought up to date on the next pass
                    recount = !signal.tryAcquire(pollMs, TimeUnit.MILLISECONDS);
                    signal.drainPermits();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                healthy = false;
                failures++;
                if (failures == 1 || failures % 60 == 0) {
                    LOG.warnf("outbox relay attempt %d failed, will retry: %s", failures, Failures.rootMessage(e));
                }
                Retry.backOff(Math.min(5_000, 100L * failures));
            }
        }
    }

    /**
     * Publishes the oldest waiting rows and deletes those the broker acknowledged. A row the broker refuses for good
     * is counted and, after max-attempts, set aside; it never holds up the rows behind it. A row that failed
     * transiently while the broker is up (some row was acknowledged, or the cluster answers) is counted the same way:
     * its topic is missing or broken, not the broker. When the broker is away (every row failed transiently and the
     * cluster does not answer) the batch fails, so the loop backs off; acknowledged rows are never re-sent.
     * The backlog and set-aside gauges are counted in the table when {@code recount} (the relay was idle or failing),
     * when the batch was full or when a row was not acknowledged; otherwise nothing is left waiting that the relay has
     * not been woken for, and the count would be one more round trip per batch.
     *
     * <p>The transaction commits without waiting for its WAL to reach the disk (synchronous_commit off): all it
     * records is which rows went out, and losing that in a database crash only publishes them again, which the
     * delivery rules allow (every copy identical), as they do for a crash between the ack and the commit.
     */
    private int publishBatch(boolean recount) {
        // a pass while the broker is away waits max.block.ms per topic without metadata, the delivery timeout and the
        // cluster check: more than the default 60 s in the worst case
        return QuarkusTransaction.requiringNew().timeout(PASS_TIMEOUT_S).call(() -> {
            @SuppressWarnings("unchecked")
            List<OutboxEvent> rows = entities.createNativeQuery("select * from outbox where set_aside_at is null order by id limit "
                    + BATCH + " for update skip locked", OutboxEvent.class).getResultList();
            if (rows.isEmpty()) {
                if (recount) {
                    count();
                } else {
                    backlog.set(0);
                }
                return 0;
            }
            long read = System.nanoTime();
            Instant readAt = Instant.now();
            for (OutboxEvent row : rows) {
                appendToRead.record(Duration.between(row.createdAt, readAt));
            }
            List<Future<RecordMetadata>> acks = new ArrayList<>(rows.size());
            // Topics the producer found no metadata for within max.block.ms in this pass, with the row that found it:
            // their other rows are not sent (each would block the loop max.block.ms again) but share its fate below.
            Map<String, OutboxEvent> withoutMetadata = new HashMap<>();
            List<OutboxEvent> notSent = new ArrayList<>();
            for (OutboxEvent row : rows) {
                if (withoutMetadata.containsKey(row.topic)) {
                    notSent.add(row);
                    acks.add(null);
                } else {
                    acks.add(send(row, withoutMetadata));
                }
            }
            producer.flush();
            List<Long> acknowledged = new ArrayList<>(rows.size());
            Map<OutboxEvent, RuntimeException> failedTransiently = new LinkedHashMap<>();
            for (int i = 0; i < rows.size(); i++) {
                if (acks.get(i) == null) {
                    continue;
                }
                // sent together, so waiting on each in turn costs the longest wait, not their sum
                try {
                    awaitAck(rows.get(i), acks.get(i));
                    acknowledged.add(rows.get(i).id);
                } catch (RuntimeException e) {
                    if (Failures.isTransient(e)) {
                        failedTransiently.put(rows.get(i), e);
                    } else {
                        refused(rows.get(i), e);
                    }
                }
            }
            RuntimeException away = null;
            if (failedTransiently.isEmpty()) {
                readToAck.record(System.nanoTime() - read, TimeUnit.NANOSECONDS);
            } else if (!acknowledged.isEmpty() || brokerAnswers()) {
                // The broker is up, so these failures are the rows' own: a topic that does not exist where topics are
                // not created on first use (per-tenant results of a tenant never given its topics, a deleted tenant's,
                // a mistyped DLQ name) times out waiting for metadata like an away broker. Counted on each row, so it is
                // set aside after max-attempts instead of holding the relay and every row behind it for good.
                failedTransiently.forEach((row, failure) -> refused(row, failure, true));
                Map<String, Integer> counted = new LinkedHashMap<>();
                for (OutboxEvent row : notSent) {
                    refused(row, failedTransiently.get(withoutMetadata.get(row.topic)), false);
                    counted.merge(row.topic, 1, Integer::sum);
                }
                counted.forEach((topic, n) -> LOG.warnf("outbox: %d more records for %s not sent, counted as refused with"
                        + " record %d", n, topic, withoutMetadata.get(topic).id));
            } else {
                away = failedTransiently.values().iterator().next();
            }
            entities.createNativeQuery("set local synchronous_commit = off").executeUpdate();
            if (!acknowledged.isEmpty()) {
                entities.createQuery("delete from OutboxEvent where id in :ids").setParameter("ids", acknowledged).executeUpdate();
                published.increment(acknowledged.size());
            }
            if (recount || rows.size() == BATCH || acknowledged.size() < rows.size()) {
                count();
            } else {
                backlog.set(0);
            }
            if (away != null && acknowledged.isEmpty()) {
                throw away;
            }
            return rows.size();
        });
    }

    /** The rows waiting and the rows set aside, as the table has them now, into the gauges. */
    private void count() {
        Object[] counts = (Object[]) entities.createNativeQuery("select count(*) filter (where set_aside_at is null),"
                + " count(*) filter (where set_aside_at is not null) from outbox").getSingleResult();
        backlog.set(((Number) counts[0]).longValue());
        setAside.set(((Number) counts[1]).longValue());
    }

    /** Counts a refusal on the row (in the batch's transaction); after max-attempts the row is set aside for good. */
    private void refused(OutboxEvent row, RuntimeException failure) {
        refused(row, failure, true);
    }

    /** As {@link #refused(OutboxEvent, RuntimeException)}; {@code logRefusal} false: the caller logs a refusal once for many. */
    private void refused(OutboxEvent row, RuntimeException failure, boolean logRefusal) {
        row.attempts++;
        row.lastError = SafeText.of(Failures.rootMessage(failure), 1_000);
        if (row.attempts >= maxAttempts) {
            row.setAsideAt = Instant.now();
            LOG.errorf("outbox record %d for %s (%d bytes) set aside after %d refusals: %s", row.id, row.topic,
                    row.payload.length, row.attempts, row.lastError);
        } else if (logRefusal) {
            LOG.warnf("outbox record %d for %s refused (%d of %d): %s", row.id, row.topic, row.attempts, maxAttempts, row.lastError);
        }
    }

    /**
     * Sends one row. A row whose record cannot even be built (its stored headers unreadable) is counted as refused
     * and null returned, rather than failing the batch on every pass. A send that fails at once for want of its
     * topic's metadata adds the topic to {@code withoutMetadata} with this row; its failed future is returned.
     */
    private Future<RecordMetadata> send(OutboxEvent row, Map<String, OutboxEvent> withoutMetadata) {
        ProducerRecord<byte[], byte[]> record;
        try {
            record = record(row);
        } catch (RuntimeException e) {
            refused(row, e);
            return null;
        }
        Future<RecordMetadata> ack = producer.send(record);
        if (ack.isDone()) {
            try {
                ack.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException) {
                    withoutMetadata.put(row.topic, row);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return ack;
    }

    /**
     * Whether the cluster answers a metadata request now: told apart from an away broker, a failure that left every
     * row of a pass unacknowledged is the rows' own.
     */
    private boolean brokerAnswers() {
        try {
            admin().describeCluster(new DescribeClusterOptions().timeoutMs(5_000)).clusterId().get(6, TimeUnit.SECONDS);
            return true;
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private Admin admin() {
        if (admin == null) {
            admin = Admin.create(kafka.admin(Map.of(AdminClientConfig.CLIENT_ID_CONFIG, "steergate-outbox-relay-admin")));
        }
        return admin;
    }

    private static void awaitAck(OutboxEvent row, Future<RecordMetadata> ack) {
        try {
            ack.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("publishing outbox record " + row.id + " to " + row.topic + " failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while publishing", e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("no broker ack for outbox record " + row.id + " within 30 s", e);
        }
    }

    private ProducerRecord<byte[], byte[]> record(OutboxEvent row) {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(row.topic, row.keyBytes(), row.payload);
        if (row.headersJson != null) {
            try {
                Map<String, String> headers = json.readValue(row.headersJson, new TypeReference<Map<String, String>>() {});
                headers.forEach((name, value) -> record.headers().add(name, value.getBytes(StandardCharsets.UTF_8)));
            } catch (java.io.IOException e) {
                throw new IllegalStateException("outbox record " + row.id + " has unreadable headers", e);
            }
        }
        return record;
    }
}
