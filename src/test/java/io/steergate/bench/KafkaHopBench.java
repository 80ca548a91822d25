package io.steergate.bench;

import io.steergate.testing.EmbeddedKafka;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
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
 * What one Kafka hop costs on this machine with nothing of SteerGate around it: the embedded broker, a producer with
 * the application's reliable settings (acks=all, idempotence, linger.ms=0) and a consumer assigned to the partition.
 * Prints the producer's send-to-acknowledgement time and the record's CreateTime-to-poll time, the two parts of every
 * hop in OverheadBench's stage table. Args: records per measurement (default 200), pause between sends in ms (20),
 * warm-up records sent back to back before them (20,000: until the JIT has compiled the client's and the broker's
 * paths; with 30, as before, every measured record still ran interpreted and cost 5-7 ms instead of under 1).
 */
public final class KafkaHopBench {

    private static final String TOPIC = "hop";
    private KafkaHopBench() {
    }

    public static void main(String[] args) throws Exception {
        int records = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        long pauseMs = args.length > 1 ? Long.parseLong(args[1]) : 20;
        int warmUp = args.length > 2 ? Integer.parseInt(args[2]) : 20_000;
        try (EmbeddedKafka kafka = new EmbeddedKafka(1).start()) {
            kafka.createTopics(1, TOPIC);
            Map<String, Object> producerSettings = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                    ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                    ProducerConfig.LINGER_MS_CONFIG, 0);
            Map<String, Object> consumerSettings = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerSettings, new StringSerializer(),
                    new StringSerializer());
                    KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerSettings, new StringDeserializer(),
                            new StringDeserializer())) {
                TopicPartition partition = new TopicPartition(TOPIC, 0);
                consumer.assign(List.of(partition));
                consumer.seekToEnd(List.of(partition));
                consumer.position(partition);
                List<Long> ackMicros = new ArrayList<>();
                Thread sender = new Thread(() -> {
                    try {
                        for (int i = 0; i < warmUp + records; i++) {
                            long start = System.nanoTime();
                            producer.send(new ProducerRecord<>(TOPIC, "x")).get();
                            ackMicros.add((System.nanoTime() - start) / 1_000);
                            if (i >= warmUp) {
                                Thread.sleep(pauseMs);
                            }
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } catch (ExecutionException e) {
                        throw new IllegalStateException("send failed", e);
                    }
                }, "hop-sender");
                sender.start();
                List<Long> hopMillis = new ArrayList<>();
                long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
                while (hopMillis.size() < warmUp + records && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                        hopMillis.add(System.currentTimeMillis() - record.timestamp());
                    }
                }
                sender.join();
                System.out.printf("Kafka hop on the embedded broker, %d records %d ms apart (after %d warm-up)%n", records,
                        pauseMs, warmUp);
                print("producer send -> ack (us)", ackMicros.subList(warmUp, ackMicros.size()));
                print("CreateTime -> consumer poll (ms)", hopMillis.subList(warmUp, hopMillis.size()));
            }
        }
    }

    private static void print(String what, List<Long> values) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        System.out.printf("%-34s p50 %d  p99 %d  max %d%n", what, sorted.get(sorted.size() / 2),
                sorted.get((int) (sorted.size() * 0.99)), sorted.get(sorted.size() - 1));
    }
}
