package io.steergate.testing;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Test-side Kafka access with plain clients: String keys, byte[] values. Sends raw bytes or JSON and
 * reads topics from the beginning, each read with its own consumer group, so tests see every record
 * whatever else consumes the topic.
 */
public final class TopicClient implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String bootstrapServers;
    private final Map<String, Object> connection;
    private final KafkaProducer<String, byte[]> producer;

    public TopicClient(String bootstrapServers) {
        this(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, Objects.requireNonNull(bootstrapServers, "bootstrapServers")));
    }

    /** A client that connects with these settings (bootstrap.servers plus any security.protocol, sasl.*, ssl.*). */
    public TopicClient(Map<String, Object> connection) {
        this.connection = Map.copyOf(connection);
        this.bootstrapServers = Objects.requireNonNull((String) connection.get(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG), "bootstrap.servers");
        Properties props = new Properties();
        props.putAll(this.connection);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(8 * 1024 * 1024));
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        this.producer = new KafkaProducer<>(props);
    }

    /** The mapper used for JSON here: plain Jackson, no modules. */
    public static ObjectMapper json() {
        return JSON;
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Sends the bytes as they are and waits for the broker's acknowledgement. */
    public RecordMetadata send(String topic, String key, byte[] value) {
        return send(topic, key, value, Map.of());
    }

    /** Sends the bytes with UTF-8 string headers and waits for the broker's acknowledgement. */
    public RecordMetadata send(String topic, String key, byte[] value, Map<String, String> headers) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, key, value);
        headers.forEach((name, text) -> record.headers().add(name, text.getBytes(StandardCharsets.UTF_8)));
        try {
            return producer.send(record).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending to " + topic, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not send to " + topic, e);
        }
    }

    /** Sends JSON: a String is sent as its UTF-8 bytes unchanged, anything else is serialised by Jackson. */
    public RecordMetadata sendJson(String topic, String key, Object json) {
        return sendJson(topic, key, json, Map.of());
    }

    public RecordMetadata sendJson(String topic, String key, Object json, Map<String, String> headers) {
        return send(topic, key, toJsonBytes(json), headers);
    }

    /** Sends many records without waiting for each one; returns after all of them are acknowledged. */
    public void sendAllJson(String topic, Map<String, ?> jsonByKey) {
        List<java.util.concurrent.Future<RecordMetadata>> pending = new ArrayList<>();
        jsonByKey.forEach((key, json) -> pending.add(producer.send(new ProducerRecord<>(topic, key, toJsonBytes(json)))));
        producer.flush();
        for (var future : pending) {
            try {
                future.get(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while sending to " + topic, e);
            } catch (ExecutionException | TimeoutException e) {
                throw new IllegalStateException("could not send to " + topic, e);
            }
        }
    }

    /** Waits for the first record on the topic with this key. */
    public Received awaitRecord(String topic, String key, Duration timeout) {
        return awaitRecord(topic, r -> key.equals(r.key()), timeout);
    }

    /** Waits for the first record on the topic that matches. */
    public Received awaitRecord(String topic, Predicate<Received> match, Duration timeout) {
        return awaitRecords(topic, match, 1, timeout).get(0);
    }

    /** Reads the topic from the beginning until at least {@code atLeast} records match; returns all that matched. */
    public List<Received> awaitRecords(String topic, Predicate<Received> match, int atLeast, Duration timeout) {
        try (Tail tail = tail(topic)) {
            return tail.await(match, atLeast, timeout);
        }
    }

    /**
     * Starts reading the topic from the beginning on a background thread; the records collect in the
     * returned tail until it is closed. Use it to watch a topic for the length of a test.
     */
    public Tail tail(String topic) {
        return new Tail(connection, topic);
    }

    static byte[] toJsonBytes(Object json) {
        if (json instanceof byte[] bytes) {
            return bytes;
        }
        if (json instanceof String text) {
            return text.getBytes(StandardCharsets.UTF_8);
        }
        try {
            return JSON.writeValueAsBytes(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot serialise " + json.getClass().getName() + " to JSON", e);
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(10));
    }

    /** One consumed record; headers keep the last value per name, as UTF-8 text. */
    public record Received(String topic, int partition, long offset, String key, byte[] value,
                           Map<String, String> headers) {

        static Received of(ConsumerRecord<String, byte[]> record) {
            Map<String, String> headers = new LinkedHashMap<>();
            for (Header header : record.headers()) {
                headers.put(header.key(), header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8));
            }
            return new Received(record.topic(), record.partition(), record.offset(), record.key(), record.value(),
                    Collections.unmodifiableMap(headers));
        }

        /** The value as UTF-8 text. */
        public String text() {
            return value == null ? null : new String(value, StandardCharsets.UTF_8);
        }

        /** The value parsed as JSON; fails the test if it is not JSON. */
        public JsonNode json() {
            try {
                return JSON.readTree(value);
            } catch (java.io.IOException e) {
                throw new AssertionError("record " + topic + "/" + partition + "@" + offset + " is not JSON: " + text(), e);
            }
        }

        public String header(String name) {
            return headers.get(name);
        }

        @Override
        public String toString() {
            return topic + "/" + partition + "@" + offset + " key=" + key + " headers=" + headers + " value=" + text();
        }
    }

    /** A consumer in its own group reading one topic from the beginning on a daemon thread. */
    public static final class Tail implements AutoCloseable {

        private final String topic;
        private final KafkaConsumer<String, byte[]> consumer;
        private final List<Received> records = new ArrayList<>();
        private final Thread poller;
        private volatile boolean running = true;
        private volatile RuntimeException failure;

        Tail(Map<String, Object> connection, String topic) {
            this.topic = topic;
            Properties props = new Properties();
            props.putAll(connection);
            props.put(ConsumerConfig.GROUP_ID_CONFIG, "test-tail-" + UUID.randomUUID());
            props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            // notice a topic the application creates after the tail started
            props.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "500");
            props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            this.consumer = new KafkaConsumer<>(props);
            this.consumer.subscribe(List.of(topic));
            this.poller = new Thread(this::poll, "tail-" + topic);
            this.poller.setDaemon(true);
            this.poller.start();
        }

        private void poll() {
            try {
                while (running) {
                    var batch = consumer.poll(Duration.ofMillis(200));
                    if (!batch.isEmpty()) {
                        synchronized (records) {
                            batch.forEach(r -> records.add(Received.of(r)));
                            records.notifyAll();
                        }
                    }
                }
            } catch (WakeupException e) {
                // close() woke us up
            } catch (RuntimeException e) {
                failure = e;
                synchronized (records) {
                    records.notifyAll();
                }
            } finally {
                try {
                    consumer.close(Duration.ofSeconds(5));
                } catch (RuntimeException e) {
                    // a wakeup that arrived after the loop ended; the consumer is closed either way
                }
            }
        }

        /** A snapshot of everything read so far, in arrival order. */
        public List<Received> records() {
            synchronized (records) {
                return List.copyOf(records);
            }
        }

        /** A snapshot of the records read so far that match. */
        public List<Received> records(Predicate<Received> match) {
            return records().stream().filter(match).toList();
        }

        /**
         * Waits until at least {@code atLeast} records read so far match; returns all that match.
         * Throws AssertionError with what was seen when the timeout passes.
         */
        public List<Received> await(Predicate<Received> match, int atLeast, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            synchronized (records) {
                while (true) {
                    if (failure != null) {
                        throw new IllegalStateException("consumer of " + topic + " failed", failure);
                    }
                    List<Received> matched = records.stream().filter(match).toList();
                    if (matched.size() >= atLeast) {
                        return matched;
                    }
                    long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                    if (leftMs <= 0) {
                        throw new AssertionError("timed out after " + timeout + " waiting for " + atLeast
                                + " matching records on " + topic + "; " + matched.size() + " matched of "
                                + records.size() + " read" + lastFew());
                    }
                    try {
                        records.wait(Math.min(leftMs, 500));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted while waiting on " + topic, e);
                    }
                }
            }
        }

        private String lastFew() {
            int from = Math.max(0, records.size() - 3);
            return records.isEmpty() ? "" : "; last: " + records.subList(from, records.size());
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
    }
}
