package io.steergate.outbox;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
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
    /** A dead letter the broker refuses as too large is kept, cut to this size, rather than blocking the relay. */
    private static final int TRUNCATED_BYTES = 512 * 1024;

    @Inject
    EntityManager entities;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry metrics;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @ConfigProperty(name = "steergate.role.gateway", defaultValue = "true")
    boolean gatewayRole;

    @ConfigProperty(name = "steergate.outbox.poll-ms", defaultValue = "250")
    long pollMs;

    private final Semaphore signal = new Semaphore(0);
    private final AtomicLong backlog = new AtomicLong();
    private volatile boolean running;
    private volatile boolean healthy;
    private Thread thread;
    private KafkaProducer<String, byte[]> producer;
    private Counter published;

    void start(@Observes StartupEvent event) {
        if (!gatewayRole) {
            return;
        }
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 1);
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 16 * 1024 * 1024);
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "steergate-outbox-relay");
        producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
        published = Counter.builder("steergate.outbox.published").description("Outbox records published to Kafka").register(metrics);
        // rows still waiting after the last batch: grows when the broker is away or slower than the gateway
        metrics.gauge("steergate.outbox.backlog", backlog);
        running = true;
        thread = new Thread(this::run, "outbox-relay");
        thread.setDaemon(true);
        thread.start();
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

    /** True while the relay thread runs and its last attempt did not fail. */
    public boolean healthy() {
        return !gatewayRole || (running && healthy);
    }

    private void run() {
        healthy = true;
        long failures = 0;
        while (running) {
            try {
                int sent = publishBatch();
                if (failures > 0) {
                    LOG.infof("outbox relay recovered after %d failed attempts", failures);
                }
                failures = 0;
                healthy = true;
                if (sent < BATCH) {
                    signal.tryAcquire(pollMs, TimeUnit.MILLISECONDS);
                    signal.drainPermits();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                healthy = false;
                failures++;
                if (failures == 1 || failures % 60 == 0) {
                    LOG.warnf("outbox relay attempt %d failed, will retry: %s", failures, rootMessage(e));
                }
                sleepQuietly(Math.min(5_000, 100L * failures));
            }
        }
    }

    private int publishBatch() {
        return QuarkusTransaction.requiringNew().call(() -> {
            @SuppressWarnings("unchecked")
            List<OutboxEvent> rows = entities.createNativeQuery(
                            "select * from outbox order by id limit " + BATCH + " for update skip locked", OutboxEvent.class)
                    .getResultList();
            if (rows.isEmpty()) {
                backlog.set(0);
                return 0;
            }
            List<Future<RecordMetadata>> acks = new ArrayList<>(rows.size());
            for (OutboxEvent row : rows) {
                acks.add(producer.send(record(row, row.payload)));
            }
            producer.flush();
            List<Long> ids = new ArrayList<>(rows.size());
            for (int i = 0; i < rows.size(); i++) {
                awaitAck(rows.get(i), acks.get(i));
                ids.add(rows.get(i).id);
            }
            entities.createQuery("delete from OutboxEvent where id in :ids").setParameter("ids", ids).executeUpdate();
            published.increment(rows.size());
            backlog.set(((Number) entities.createNativeQuery("select count(*) from outbox").getSingleResult()).longValue());
            return rows.size();
        });
    }

    private void awaitAck(OutboxEvent row, Future<RecordMetadata> ack) {
        try {
            ack.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RecordTooLargeException && row.payload.length > TRUNCATED_BYTES) {
                LOG.warnf("outbox record %d for %s (%d bytes) refused as too large; publishing its first %d bytes",
                        row.id, row.topic, row.payload.length, TRUNCATED_BYTES);
                ProducerRecord<String, byte[]> cut = record(row, Arrays.copyOf(row.payload, TRUNCATED_BYTES));
                cut.headers().add("steergate-truncated-from", String.valueOf(row.payload.length).getBytes(StandardCharsets.UTF_8));
                awaitAck(row, producer.send(cut));
                return;
            }
            throw new IllegalStateException("publishing outbox record " + row.id + " to " + row.topic + " failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while publishing", e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("no broker ack for outbox record " + row.id + " within 30 s", e);
        }
    }

    private ProducerRecord<String, byte[]> record(OutboxEvent row, byte[] payload) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(row.topic, row.messageKey, payload);
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

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }
}
