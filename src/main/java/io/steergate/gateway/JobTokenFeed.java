package io.steergate.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.steergate.kafka.KafkaClientSettings;
import io.steergate.messages.JobTokens;
import io.steergate.resilience.Failures;
import io.steergate.role.ProcessRoles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

/**
 * Reads steer.job-tokens for the streams this gateway serves. Every gateway reads every partition from its end
 * (assign, no group: each must see the pieces of its own clients' jobs, and none is needed again later), and keeps
 * only the pieces of requests it {@linkplain #expect expects}, by the row of their job key, so every escalation
 * attempt of a request reaches the same {@link TokenStream}. A stream is expected inside the transaction that stores
 * its request, before its job can be published, so no piece precedes it; one that nobody attaches to (the HTTP
 * thread failed, the transaction rolled back) is dropped after {@link #UNATTACHED}, any other after the longest a
 * stream lasts (steergate.gateway.http-wait + {@link #UNATTACHED}). Memory is bounded: at most
 * {@link #MAX_STREAMS} streams, each of at most limits.maxTokens x 64 characters per attempt (else it is gapped).
 */
@ApplicationScoped
public class JobTokenFeed {

    private static final Logger LOG = Logger.getLogger(JobTokenFeed.class);
    static final Duration UNATTACHED = Duration.ofSeconds(60);
    static final int MAX_STREAMS = 10_000;
    private static final Duration POLL = Duration.ofMillis(200);
    private static final Duration SWEEP = Duration.ofSeconds(5);

    @Inject
    KafkaClientSettings kafka;

    @Inject
    GatewayConfig config;

    @Inject
    LimitsConfig limits;

    @Inject
    ProcessRoles roles;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry metrics;

    private final ConcurrentHashMap<Long, TokenStream> streams = new ConcurrentHashMap<>();
    private volatile boolean running;
    private volatile Consumer<String, byte[]> consumer;
    private Thread thread;
    private long lastSweep = System.nanoTime();

    void start(@Observes StartupEvent event) {
        if (!roles.gateway()) {
            return;
        }
        metrics.gaugeMapSize("steergate.stream.feeds", Tags.empty(), streams);
        running = true;
        thread = new Thread(this::run, "job-token-feed");
        thread.setDaemon(true);
        thread.start();
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        running = false;
        Consumer<String, byte[]> reading = consumer;
        if (reading != null) {
            reading.wakeup();
        }
        if (thread != null) {
            thread.join(5_000);
        }
    }

    /** Keeps the pieces of {@code jobKey}'s request from now on; called before its job can be published. */
    void expect(String jobKey) {
        OptionalLong row = Generation.rowOf(jobKey);
        if (row.isEmpty()) {
            return;
        }
        if (streams.size() >= MAX_STREAMS) {
            // over the bound the stream still ends, from the result's text
            metrics.counter("steergate.stream.feeds.refused").increment();
            return;
        }
        streams.putIfAbsent(row.getAsLong(), new TokenStream(row.getAsLong(), System.nanoTime(),
                limits.maxTokens() * GenerationService.MAX_CHARS_PER_TOKEN));
    }

    /** The stream of {@code jobKey}'s request for the one HTTP thread that serves it; empty if not expected or taken. */
    public Optional<TokenStream> attach(String jobKey) {
        OptionalLong row = Generation.rowOf(jobKey);
        TokenStream stream = row.isEmpty() ? null : streams.get(row.getAsLong());
        return stream != null && stream.attach() ? Optional.of(stream) : Optional.empty();
    }

    /** Forgets a stream whose client has its answer or went away. */
    public void release(TokenStream stream) {
        streams.remove(stream.row(), stream);
    }

    /** Assigns every partition of the tokens topic, at its end; false while the topic has no partitions yet. */
    boolean assign(Consumer<String, byte[]> reader) {
        List<TopicPartition> partitions = Optional.ofNullable(reader.partitionsFor(config.jobTokensTopic())).orElse(List.of())
                .stream().map(info -> new TopicPartition(info.topic(), info.partition())).toList();
        if (partitions.isEmpty()) {
            return false;
        }
        reader.assign(partitions);
        reader.seekToEnd(partitions);
        // resolved now, not at the first poll: a piece published from here on is read
        partitions.forEach(reader::position);
        return true;
    }

    /** One poll: routes what came, and drops unattached streams now and then. */
    void pollOnce(Consumer<String, byte[]> reader, Duration timeout) {
        for (ConsumerRecord<String, byte[]> record : reader.poll(timeout)) {
            route(record);
        }
        long now = System.nanoTime();
        if (now - lastSweep >= SWEEP.toNanos()) {
            sweep(now);
            lastSweep = now;
        }
    }

    void route(ConsumerRecord<String, byte[]> record) {
        OptionalLong row = Generation.rowOf(record.key());
        TokenStream stream = row.isEmpty() ? null : streams.get(row.getAsLong());
        if (stream == null || record.value() == null) {
            // another gateway's client, or a stream already answered
            return;
        }
        JobTokens piece;
        try {
            piece = json.readValue(record.value(), JobTokens.class);
        } catch (IOException e) {
            LOG.debugf("unreadable piece at %s-%d@%d dropped", record.topic(), record.partition(), record.offset());
            return;
        }
        stream.offer(Generation.attemptOf(record.key()), piece.index(), piece.tokens(), piece.text());
    }

    /**
     * Drops the streams expected more than {@link #UNATTACHED} before {@code nowNanos} that nobody attached to, and
     * those whose HTTP thread never released them (a response that was never written) after its longest life.
     */
    void sweep(long nowNanos) {
        long longestStream = config.httpWait().plus(UNATTACHED).toNanos();
        streams.values().removeIf(stream -> stream.expired(nowNanos - UNATTACHED.toNanos(), nowNanos - longestStream));
    }

    /** Whether the feed holds a stream for {@code jobKey}'s request. */
    boolean holds(String jobKey) {
        OptionalLong row = Generation.rowOf(jobKey);
        return row.isPresent() && streams.containsKey(row.getAsLong());
    }

    private void run() {
        while (running) {
            try (KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(consumerProperties(), new StringDeserializer(),
                    new ByteArrayDeserializer())) {
                consumer = reader;
                while (running && !assign(reader)) {
                    Thread.sleep(1_000);
                }
                while (running) {
                    pollOnce(reader, POLL);
                }
            } catch (WakeupException e) {
                // stopping
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                // streams in flight finish from their results; the feed reconnects
                LOG.warnf("job token feed failed, reconnecting in 1 s: %s", Failures.rootMessage(e));
                try {
                    Thread.sleep(1_000);
                } catch (InterruptedException stop) {
                    Thread.currentThread().interrupt();
                    return;
                }
            } finally {
                consumer = null;
            }
        }
    }

    /** The shared settings without a group: partitions are assigned, offsets never committed. */
    private Properties consumerProperties() {
        return kafka.tailingConsumer("steergate-job-token-feed");
    }
}
