package io.steergate.testing;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A Kafka principal's view of an authorizing broker, for tests: write and read as the user whose client settings are
 * given ({@link EmbeddedKafka#scramClientSettings}), and the refusal the broker answers when its ACLs do not allow it.
 */
public final class KafkaPrincipals {

    private KafkaPrincipals() {}

    /** Sends one record (an idempotent producer, the clients' default) and returns its key. */
    public static String write(Map<String, Object> settings, String topic) throws Exception {
        String key = UUID.randomUUID().toString();
        write(settings, topic, key, "{}");
        return key;
    }

    /** Sends {@code value} under {@code key} and waits for the broker's acknowledgement. */
    public static void write(Map<String, Object> settings, String topic, String key, String value) throws Exception {
        try (KafkaProducer<String, String> producer = producer(settings)) {
            producer.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
        }
    }

    public static Throwable writeRefusal(Map<String, Object> settings, String topic) {
        try (KafkaProducer<String, String> producer = producer(settings)) {
            ExecutionException refused = assertThrows(ExecutionException.class,
                    () -> producer.send(new ProducerRecord<>(topic, "k", "{}")).get(30, TimeUnit.SECONDS), topic);
            return refused.getCause();
        }
    }

    public static KafkaProducer<String, String> producer(Map<String, Object> settings) {
        Map<String, Object> props = new HashMap<>(settings);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "20000");
        return new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
    }

    /** Reads the topic from the beginning in the consumer group until the key shows up. */
    public static String readKey(Map<String, Object> settings, String topic, String group, String key) {
        try (KafkaConsumer<String, String> consumer = consumer(settings, group)) {
            consumer.subscribe(List.of(topic));
            return awaitKey(consumer, key);
        }
    }

    /** Reads partition 0 of the topic from the beginning without a consumer group (as deploy/client does). */
    public static String readKeyAssigned(Map<String, Object> settings, String topic, String key) {
        try (KafkaConsumer<String, String> consumer = consumer(settings, null)) {
            consumer.assign(List.of(new TopicPartition(topic, 0)));
            consumer.seekToBeginning(consumer.assignment());
            return awaitKey(consumer, key);
        }
    }

    public static Throwable readRefusal(Map<String, Object> settings, String topic, String group) {
        return assertThrows(RuntimeException.class, () -> readKey(settings, topic, group, "never-written"), topic + " as " + group);
    }

    private static String awaitKey(KafkaConsumer<String, String> consumer, String key) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                if (key.equals(record.key())) {
                    return record.key();
                }
            }
        }
        throw new AssertionError("no record with key " + key + " within 30 s");
    }

    public static KafkaConsumer<String, String> consumer(Map<String, Object> settings, String group) {
        Map<String, Object> props = new HashMap<>(settings);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        if (group != null) {
            props.put(ConsumerConfig.GROUP_ID_CONFIG, group + "-" + UUID.randomUUID());
        }
        return new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer());
    }
}
