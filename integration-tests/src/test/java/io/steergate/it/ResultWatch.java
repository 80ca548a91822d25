package io.steergate.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Every copy of the results for a set of ids on steer.results, read from the beginning, each with the time it
 * arrived here. Partitions are assigned, not subscribed: no consumer group, so nothing to rejoin when the broker
 * comes back, and reading simply resumes.
 */
final class ResultWatch implements AutoCloseable {

    /** One copy of a result, as received. */
    record Copy(String id, byte[] value, long arrivedNanos) {
    }

    private final Set<String> ids;
    private final KafkaConsumer<String, byte[]> consumer;
    private final Thread poller;
    private final Map<String, List<Copy>> copies = new HashMap<>();
    private volatile boolean running = true;
    private volatile RuntimeException failure;
    private long lastArrivalNanos;

    ResultWatch(String bootstrapServers, String topic, Set<String> ids) {
        this.ids = Set.copyOf(ids);
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        consumer = new KafkaConsumer<>(props);
        List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                .map(info -> new TopicPartition(topic, info.partition()))
                .toList();
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        poller = new Thread(this::poll, "result-watch-" + topic);
        poller.setDaemon(true);
        poller.start();
    }

    private void poll() {
        try {
            while (running) {
                var batch = consumer.poll(Duration.ofMillis(200));
                long now = System.nanoTime();
                synchronized (copies) {
                    for (var record : batch) {
                        if (ids.contains(record.key())) {
                            copies.computeIfAbsent(record.key(), id -> new ArrayList<>())
                                    .add(new Copy(record.key(), record.value(), now));
                            lastArrivalNanos = now;
                        }
                    }
                }
            }
        } catch (WakeupException e) {
            // close() woke us up
        } catch (RuntimeException e) {
            failure = e;
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** How many ids have at least one result. */
    int answered() {
        checkHealthy();
        synchronized (copies) {
            return copies.size();
        }
    }

    /** The ids with at least one result so far. */
    Set<String> answeredIds() {
        checkHealthy();
        synchronized (copies) {
            return Set.copyOf(copies.keySet());
        }
    }

    /** Every copy so far, by id. */
    Map<String, List<Copy>> copiesById() {
        checkHealthy();
        synchronized (copies) {
            Map<String, List<Copy>> snapshot = new LinkedHashMap<>();
            copies.forEach((id, list) -> snapshot.put(id, List.copyOf(list)));
            return snapshot;
        }
    }

    /** System.nanoTime() of the last copy received; 0 before the first. */
    long lastArrivalNanos() {
        synchronized (copies) {
            return lastArrivalNanos;
        }
    }

    /** Waits until at least {@code count} ids have a result; false when the timeout passed first. */
    boolean awaitAnswered(int count, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (answered() < count) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            sleep(100);
        }
        return true;
    }

    private void checkHealthy() {
        if (failure != null) {
            throw new IllegalStateException("the consumer of the results failed", failure);
        }
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            poller.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
