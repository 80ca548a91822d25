package io.steergate.bench;

import com.yammer.metrics.core.Histogram;
import io.steergate.testing.EmbeddedKafka;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
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
import org.apache.kafka.server.metrics.KafkaYammerMetrics;

/**
 * What one Kafka hop costs on this machine with nothing of SteerGate around it: the embedded broker, a producer with
 * the application's reliable settings (acks=all, idempotence, linger.ms=0) and a consumer assigned to the partition.
 * Prints the producer's send-to-acknowledgement time and the record's CreateTime-to-poll time, the two parts of every
 * hop in OverheadBench's stage table, send-to-poll in microseconds (the record carries its send's nanoTime), and the
 * broker's own request phases for the measured records. Args: records per measurement (default 200), pause between sends in ms (20),
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
                Map<String, double[]> brokerBefore = new ConcurrentHashMap<>();
                Thread sender = new Thread(() -> {
                    try {
                        for (int i = 0; i < warmUp + records; i++) {
                            if (i == warmUp) {
                                brokerBefore.putAll(brokerRequestTotals());
                            }
                            long start = System.nanoTime();
                            // the send's nanoTime as the value: the consumer is in this JVM, so send -> poll in us
                            producer.send(new ProducerRecord<>(TOPIC, Long.toString(start))).get();
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
                List<Long> hopMicros = new ArrayList<>();
                long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
                while (hopMillis.size() < warmUp + records && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                        hopMillis.add(System.currentTimeMillis() - record.timestamp());
                        hopMicros.add((System.nanoTime() - Long.parseLong(record.value())) / 1_000);
                    }
                }
                sender.join();
                System.out.printf("Kafka hop on the embedded broker, %d records %d ms apart (after %d warm-up)%n", records,
                        pauseMs, warmUp);
                print("producer send -> ack (us)", ackMicros.subList(warmUp, ackMicros.size()));
                print("CreateTime -> consumer poll (ms)", hopMillis.subList(warmUp, hopMillis.size()));
                print("send -> consumer poll (us)", hopMicros.subList(warmUp, hopMicros.size()));
                printBrokerPhases(brokerBefore, brokerRequestTotals());
            }
        }
    }

    private static void print(String what, List<Long> values) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        System.out.printf("%-34s p50 %d  p99 %d  max %d%n", what, sorted.get(sorted.size() / 2),
                sorted.get((int) (sorted.size() * 0.99)), sorted.get(sorted.size() - 1));
    }

    // the broker's request metrics (kafka.network RequestMetrics), in the order a request passes through them
    private static final List<String> PHASES = List.of("RequestQueueTimeMs", "LocalTimeMs", "RemoteTimeMs",
            "ResponseQueueTimeMs", "ResponseSendTimeMs", "TotalTimeMs");

    /**
     * Per request type (Produce, Fetch) and phase: {count, sum} of the broker's histogram so far. The broker runs in
     * this JVM, so its Yammer registry is readable here; two snapshots give the mean of the requests in between.
     */
    private static Map<String, double[]> brokerRequestTotals() {
        Map<String, double[]> totals = new TreeMap<>();
        KafkaYammerMetrics.defaultRegistry().allMetrics().forEach((name, metric) -> {
            if ("RequestMetrics".equals(name.getType()) && PHASES.contains(name.getName())
                    && metric instanceof Histogram histogram && name.getScope() != null
                    && (name.getScope().equals("request.Produce") || name.getScope().equals("request.Fetch"))) {
                totals.put(name.getScope().substring("request.".length()) + " " + name.getName(),
                        new double[] {histogram.count(), histogram.sum()});
            }
        });
        return totals;
    }

    /**
     * Mean per phase of the requests between the two snapshots: where the broker's part of a hop goes. The broker
     * records each request's phases in whole milliseconds, so a mean of 0.02 says that 2 requests in 100 took about a
     * millisecond there and the rest next to nothing.
     */
    private static void printBrokerPhases(Map<String, double[]> before, Map<String, double[]> after) {
        for (String request : List.of("Produce", "Fetch")) {
            StringBuilder line = new StringBuilder(String.format("broker %-8s mean of whole ms:", request));
            for (String phase : PHASES) {
                double[] b = before.getOrDefault(request + " " + phase, new double[2]);
                double[] a = after.get(request + " " + phase);
                if (a != null && a[0] > b[0]) {
                    line.append(String.format(" %s %.3f", phase.replace("TimeMs", ""), (a[1] - b[1]) / (a[0] - b[0])));
                }
            }
            System.out.println(line);
        }
    }
}
