package io.steergate.launcher;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * the GenerationResult with the same id on steer.results. With --http it posts the request to the HTTP API
 * instead, with the tenant's client key the application wrote under data/credentials. Exit code 0 only for a
 * COMPLETED result.
 */
public final class Client {

    static final String USAGE = """
            usage: deploy/client [flags] "prompt"

              --bootstrap HOST:PORT   Kafka bootstrap servers (default 127.0.0.1:9092)
              --tenant NAME           tenant (default demo; acme with --http)
              --http URL              post to the HTTP API at URL (e.g. http://127.0.0.1:8080) instead of Kafka
              --key-file FILE         with --http: the API key (default data/credentials/client-<tenant>.key)
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
        String tenant = null;
        String http = null;
        Path keyFile = null;
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
                    case "--http" -> http = value(args, ++i, arg);
                    case "--key-file" -> keyFile = Path.of(value(args, ++i, arg));
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
            if (keyFile != null && http == null) {
                throw new IllegalArgumentException("--key-file goes with --http (Kafka takes the tenant field as it is)");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println();
            System.err.println(USAGE);
            return 2;
        }

        if (tenant == null) {
            tenant = http == null ? "demo" : "acme";
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
            if (http != null) {
                Path key = keyFile != null ? keyFile : Path.of("data", "credentials", "client-" + tenant + ".key");
                return post(http, key, request, Duration.ofSeconds(timeoutSeconds));
            }
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

    /** POST /v1/generations with the key in {@code keyFile}; prints the result or the error body. */
    private static int post(String baseUrl, Path keyFile, ObjectNode request, Duration timeout) throws Exception {
        if (!Files.isRegularFile(keyFile)) {
            System.err.println("error: no API key file " + keyFile
                    + " (the application writes client-<tenant>.key on its first start; --key-file)");
            return 1;
        }
        HttpRequest post = HttpRequest.newBuilder(URI.create(baseUrl).resolve("/v1/generations")).timeout(timeout)
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + Files.readString(keyFile).strip())
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(request))).build();
        HttpResponse<String> answer = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()
                .send(post, HttpResponse.BodyHandlers.ofString());
        JsonNode body = JSON.readTree(answer.body());
        if (answer.statusCode() == 200) {
            System.out.println(body.path("text").asText());
            System.out.println();
            System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(body));
            return 0;
        }
        System.err.println("HTTP " + answer.statusCode() + ": " + body);
        return answer.statusCode() == 401 || answer.statusCode() == 403 ? 1 : 3;
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
