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
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Publishes outbox rows and deletes them once the broker has acknowledged them. Runs on one thread in the gateway
 * role, on two paths. Rows committed in this process are handed over right after their commit ({@link #committed})
 * and sent at once, without reading them back from the table: the request path pays the commit and the send, not a
 * wake-up plus a read transaction. The table pass, every poll-ms, publishes in id order what no process sent: rows
 * older than grace-ms (a crash before the send, a failed send, rows of a process without the gateway role), so it
 * never races another gateway for a row that gateway is sending. A crash between the broker's ack and the delete, or
 * a send slower than grace-ms, republishes the same bytes, which the delivery rules allow (every copy for one id is
 * identical).
 * It uses the plain Kafka producer rather than a Reactive Messaging emitter because it needs raw bytes, per-record
 * topics and headers, and a synchronous ack per batch before the rows may go.
 */
@ApplicationScoped
public class OutboxRelay {

    private static final Logger LOG = Logger.getLogger(OutboxRelay.class);
    private static final int BATCH = 500;

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

    /** Rows younger than this are left to the process that committed them; the table pass takes older ones. */
    @ConfigProperty(name = "steergate.outbox.grace-ms", defaultValue = "2000")
    long graceMs;

    /** Refusals (not transient failures) after which a record is set aside instead of retried. */
    @ConfigProperty(name = "steergate.outbox.max-attempts", defaultValue = "5")
    int maxAttempts;

    /** Most committed rows waiting to be sent at once; beyond it a row waits for the table pass. */
    private static final int HANDOVER_LIMIT = 10_000;

    private final Semaphore signal = new Semaphore(0);
    /** Rows this process committed, to send at once. */
    private final BlockingQueue<OutboxEvent> handedOver = new LinkedBlockingQueue<>(HANDOVER_LIMIT);
    /** Ids sent from {@link #handedOver} and not yet deleted: the table pass leaves them alone. */
    private final Set<Long> inFlight = ConcurrentHashMap.newKeySet();
    /** Ids of handed-over rows the broker acknowledged, to delete. */
    private final Queue<Long> acknowledged = new ConcurrentLinkedQueue<>();
    /** Set when a handed-over send failed: rows go by the table pass until one of its batches succeeds again. */
    private volatile boolean handoverPaused;
    private final AtomicLong backlog = new AtomicLong();
    private final AtomicLong setAside = new AtomicLong();
    private volatile boolean running;
    private volatile boolean healthy;
    private Thread thread;
    private KafkaProducer<String, byte[]> producer;
    private Counter published;
    /** Per row: from its append (in the writer's transaction) to its send: the writer's commit and the hand-over or the table read. */
    private Timer appendToRead;
    /** Per handed-over row, and per table batch: from the send to the broker's acknowledgement. */
    private Timer readToAck;

    void start(@Observes StartupEvent event) {
        if (!roles.gateway()) {
            return;
        }
        producer = new KafkaProducer<>(producerProperties(kafka), new StringSerializer(), new ByteArraySerializer());
        published = Counter.builder("steergate.outbox.published").description("Outbox records published to Kafka").register(metrics);
        appendToRead = stage("outbox-wait", "from a row's append to its send (the writer's commit, the hand-over or the table read)");
        readToAck = stage("outbox-send", "from a send (a handed-over row, a table batch) to the broker acknowledging it");
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
        }
    }

    /** Asks the relay to look for new rows now. */
    public void wake() {
        signal.release();
    }

    /**
     * A row whose transaction has just committed, to send now. Ignored (left to the table pass) where no relay runs
     * in this process, while sends fail, or when too many are waiting.
     */
    void committed(OutboxEvent row) {
        if (running && !handoverPaused) {
            handedOver.offer(row);
        }
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
        long lastTablePass = 0;
        while (running) {
            try {
                sendHandedOver();
                deleteAcknowledged();
                int sent = 0;
                if (failures > 0 || recount || System.nanoTime() - lastTablePass >= TimeUnit.MILLISECONDS.toNanos(pollMs)) {
                    sent = publishBatch(recount || failures > 0);
                    lastTablePass = System.nanoTime();
                    handoverPaused = false;
                }
                if (failures > 0) {
                    LOG.infof("outbox relay recovered after %d failed attempts", failures);
                }
                failures = 0;
                healthy = true;
                recount = false;
                if (sent < BATCH) {
                    // woken: rows were committed or acknowledged; timed out: idle, so the gauges are brought up to date
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
     * Sends the rows handed over since the last pass, each with its own acknowledgement callback, without waiting:
     * acknowledged ids are deleted by {@link #deleteAcknowledged}; a failed send leaves its row to the table pass
     * (which counts refusals and sets records aside) and pauses the handover until a table batch succeeds.
     */
    private void sendHandedOver() {
        for (OutboxEvent row = handedOver.poll(); row != null; row = handedOver.poll()) {
            if (handoverPaused) {
                handedOver.clear(); // all in the table: its pass publishes them
                return;
            }
            Long id = row.id;
            inFlight.add(id);
            appendToRead.record(Duration.between(row.createdAt, Instant.now()));
            long handed = System.nanoTime();
            try {
                producer.send(record(row), (metadata, failure) -> {
                    if (failure == null) {
                        readToAck.record(System.nanoTime() - handed, TimeUnit.NANOSECONDS);
                        acknowledged.add(id);
                    } else {
                        inFlight.remove(id);
                        handoverPaused = true;
                        LOG.debugf("outbox record %d: sending at once failed, the table pass will publish it: %s", id,
                                Failures.rootMessage(failure));
                    }
                    signal.release();
                });
            } catch (RuntimeException e) {
                inFlight.remove(id);
                handoverPaused = true;
                LOG.debugf("outbox record %d: sending at once failed, the table pass will publish it: %s", id, Failures.rootMessage(e));
            }
        }
    }

    /**
     * Deletes the handed-over rows the broker acknowledged, in one transaction (synchronous_commit off, as in the table
     * pass). If the database is away they stay in flight, so the table pass of this process does not send them again.
     */
    private void deleteAcknowledged() {
        if (acknowledged.isEmpty()) {
            return;
        }
        List<Long> ids = new ArrayList<>();
        for (Long id = acknowledged.poll(); id != null && ids.size() < BATCH; id = acknowledged.poll()) {
            ids.add(id);
        }
        try {
            QuarkusTransaction.requiringNew().run(() -> {
                entities.createNativeQuery("set local synchronous_commit = off").executeUpdate();
                entities.createQuery("delete from OutboxEvent where id in :ids").setParameter("ids", ids).executeUpdate();
            });
        } catch (RuntimeException e) {
            acknowledged.addAll(ids);
            throw e;
        }
        published.increment(ids.size());
        ids.forEach(inFlight::remove);
        if (!acknowledged.isEmpty()) {
            signal.release(); // more than one batch was waiting
        }
    }

    /**
     * Publishes the oldest waiting rows and deletes those the broker acknowledged. A row the broker refuses for good
     * is counted and, after max-attempts, set aside; it never holds up the rows behind it. When the broker is away
     * (every row failed transiently) the batch fails, so the loop backs off; acknowledged rows are never re-sent.
     * The backlog and set-aside gauges are counted in the table when {@code recount} (the relay was idle or failing),
     * when the batch was full or when a row was not acknowledged; otherwise nothing is left waiting that the relay has
     * not been woken for, and the count would be one more round trip per batch.
     *
     * <p>The transaction commits without waiting for its WAL to reach the disk (synchronous_commit off): all it
     * records is which rows went out, and losing that in a database crash only publishes them again, which the
     * delivery rules allow (every copy identical), as they do for a crash between the ack and the commit.
     */
    private int publishBatch(boolean recount) {
        return QuarkusTransaction.requiringNew().call(() -> {
            @SuppressWarnings("unchecked")
            List<OutboxEvent> rows = new ArrayList<>(entities.createNativeQuery("select * from outbox where set_aside_at is null"
                    + " and created_at < :young order by id limit " + BATCH + " for update skip locked", OutboxEvent.class)
                    .setParameter("young", Instant.now().minusMillis(graceMs)).getResultList());
            rows.removeIf(row -> inFlight.contains(row.id));
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
            for (OutboxEvent row : rows) {
                acks.add(producer.send(record(row)));
            }
            producer.flush();
            List<Long> acknowledged = new ArrayList<>(rows.size());
            RuntimeException away = null;
            for (int i = 0; i < rows.size() && away == null; i++) {
                try {
                    awaitAck(rows.get(i), acks.get(i));
                    acknowledged.add(rows.get(i).id);
                } catch (RuntimeException e) {
                    if (Failures.isTransient(e)) {
                        // the broker is away: waiting on the rest would hold this transaction for each of them
                        away = e;
                    } else {
                        refused(rows.get(i), e);
                    }
                }
            }
            if (away == null) {
                readToAck.record(System.nanoTime() - read, TimeUnit.NANOSECONDS);
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
        row.attempts++;
        row.lastError = SafeText.of(Failures.rootMessage(failure), 1_000);
        if (row.attempts >= maxAttempts) {
            row.setAsideAt = Instant.now();
            LOG.errorf("outbox record %d for %s (%d bytes) set aside after %d refusals: %s", row.id, row.topic,
                    row.payload.length, row.attempts, row.lastError);
        } else {
            LOG.warnf("outbox record %d for %s refused (%d of %d): %s", row.id, row.topic, row.attempts, maxAttempts, row.lastError);
        }
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

    private ProducerRecord<String, byte[]> record(OutboxEvent row) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(row.topic, row.messageKey, row.payload);
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
