package io.steergate.launcher;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A command-line client of the Kafka contract: sends one GenerationRequest to steer.requests and waits for
 * the GenerationResult with the same id on steer.results. Exit code 0 only for a COMPLETED result.
 */
public final class Client {

    static final String USAGE = """
            usage: deploy/client [flags] "prompt"

              --bootstrap HOST:PORT   Kafka bootstrap servers (default 127.0.0.1:9092)
              --tenant NAME           tenant (default demo)
              --max-tokens N          completion length limit (default 64)
              --temperature T         0 = greedy (default 0)
              --seed N                sampling seed (default: none)
              --id ID                 request id (default: a random one)
              --timeout SECONDS       how long to wait for the result (default 60)
              -h, --help              this text

            exit codes: 0 COMPLETED, 1 error, 2 usage, 3 another status (REJECTED, FAILED), 4 timeout
            """;

    private static final String REQUESTS = "steer.requests";
    private static final String RESULTS = "steer.results";
    private static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) {
        // the Kafka clients log through slf4j-simple to stderr: keep only their errors (an absent broker would print a warning per retry)
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
        System.exit(run(args));
    }

    static int run(String[] args) {
        String bootstrap = "127.0.0.1:9092";
        String tenant = "demo";
        int maxTokens = 64;
        double temperature = 0.0;
        Long seed = null;
        String id = "cli-" + UUID.randomUUID();
        int timeoutSeconds = 60;
        StringBuilder prompt = new StringBuilder();
        try {
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                switch (arg) {
                    case "-h", "--help" -> {
                        System.out.println(USAGE);
                        return 0;
                    }
                    case "--bootstrap" -> bootstrap = value(args, ++i, arg);
                    case "--tenant" -> tenant = value(args, ++i, arg);
                    case "--max-tokens" -> maxTokens = Integer.parseInt(value(args, ++i, arg));
                    case "--temperature" -> temperature = Double.parseDouble(value(args, ++i, arg));
                    case "--seed" -> seed = Long.parseLong(value(args, ++i, arg));
                    case "--id" -> id = value(args, ++i, arg);
                    case "--timeout" -> timeoutSeconds = Integer.parseInt(value(args, ++i, arg));
                    default -> {
                        if (arg.startsWith("--")) {
                            throw new IllegalArgumentException("unknown flag: " + arg);
                        }
                        prompt.append(prompt.length() == 0 ? "" : " ").append(arg);
                    }
                }
            }
            if (prompt.length() == 0) {
                throw new IllegalArgumentException("a prompt is required");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println();
            System.err.println(USAGE);
            return 2;
        }

        ObjectNode request = JSON.createObjectNode();
        request.put("id", id);
        request.put("tenant", tenant);
        request.put("prompt", prompt.toString());
        request.put("maxTokens", maxTokens);
        request.put("temperature", temperature);
        if (seed != null) {
            request.put("seed", seed);
        }
        try {
            return exchange(bootstrap, id, request, Duration.ofSeconds(timeoutSeconds));
        } catch (Exception e) {
            System.err.println("error: " + e);
            return 1;
        }
    }

    private static int exchange(String bootstrap, String id, ObjectNode request, Duration timeout) throws Exception {
        Map<String, Object> common = Map.of("bootstrap.servers", bootstrap, "request.timeout.ms", "10000",
                "default.api.timeout.ms", "15000");
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(withAll(common, Map.of(
                     "enable.auto.commit", "false"
             )), new StringDeserializer(), new ByteArrayDeserializer());
             // durable and exactly once per send: all in-sync replicas acknowledge, retries cannot duplicate
             KafkaProducer<String, byte[]> producer = new KafkaProducer<>(withAll(common, Map.of(
                     "acks", "all", "enable.idempotence", "true", "delivery.timeout.ms", "20000"
             )), new StringSerializer(), new ByteArraySerializer())) {
            // listen before sending: assign every partition of the results topic at its end
            List<TopicPartition> partitions = consumer.partitionsFor(RESULTS).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            if (partitions.isEmpty()) {
                throw new IllegalStateException("topic " + RESULTS + " not found on " + bootstrap);
            }
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            partitions.forEach(consumer::position);

            producer.send(new ProducerRecord<>(REQUESTS, id, JSON.writeValueAsBytes(request))).get(30, TimeUnit.SECONDS);
            System.err.println("sent " + id + " to " + REQUESTS + " on " + bootstrap + "; waiting up to "
                    + timeout.toSeconds() + " s for the result");

            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(250))) {
                    if (!id.equals(record.key())) {
                        continue;
                    }
                    JsonNode result = JSON.readTree(record.value());
                    String status = result.path("status").asText();
                    if ("COMPLETED".equals(status)) {
                        System.out.println(result.path("text").asText());
                        System.out.println();
                    } else {
                        System.err.println("status " + status + ": " + result.path("error"));
                    }
                    System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(result));
                    return "COMPLETED".equals(status) ? 0 : 3;
                }
            }
            System.err.println("no result for " + id + " on " + RESULTS + " within " + timeout.toSeconds() + " s");
            return 4;
        }
    }

    private static Map<String, Object> withAll(Map<String, Object> a, Map<String, Object> b) {
        Map<String, Object> all = new java.util.HashMap<>(a);
        all.putAll(b);
        return all;
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return args[i];
    }

}
