package io.steergate.launcher;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
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
 * the GenerationResult with the same id on steer.results, logged in with the Kafka settings the launcher wrote
 * (data/credentials/kafka-client.properties: the shared mode's principal "client"). With --http it posts the request
 * to the HTTP API instead, with the tenant's client key the application wrote under data/credentials. Exit code 0
 * only for a COMPLETED result.
 */
public final class Client {

    static final String USAGE = """
            usage: deploy/client [flags] "prompt"

              --data-dir DIR          the launcher's data directory (default data): its credentials/ hold the
                                      Kafka settings and the API keys
              --kafka-config FILE     Kafka client settings: bootstrap.servers, security.protocol, sasl.*
                                      (default DIR/credentials/kafka-client.properties; without it, no login)
              --bootstrap HOST:PORT   Kafka bootstrap servers (default: the settings' bootstrap.servers,
                                      else 127.0.0.1:9092)
              --tenant NAME           tenant (default demo; acme with --http)
              --http URL              post to the HTTP API at URL (e.g. http://127.0.0.1:8080) instead of Kafka
              --key-file FILE         with --http: the API key (default DIR/credentials/client-<tenant>.key)
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
        String bootstrap = null;
        Path dataDir = Path.of("data");
        Path kafkaConfig = null;
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
                    case "--data-dir" -> dataDir = Path.of(value(args, ++i, arg));
                    case "--kafka-config" -> kafkaConfig = Path.of(value(args, ++i, arg));
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
            if (kafkaConfig != null && http != null) {
                throw new IllegalArgumentException("--kafka-config goes without --http");
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
                Path key = keyFile != null ? keyFile : dataDir.resolve("credentials").resolve("client-" + tenant + ".key");
                return post(http, key, request, Duration.ofSeconds(timeoutSeconds));
            }
            Map<String, Object> settings = kafkaSettings(kafkaConfig, dataDir, bootstrap);
            if (settings == null) {
                return 1;
            }
            return exchange(settings, id, request, Duration.ofSeconds(timeoutSeconds));
        } catch (Exception e) {
            System.err.println("error: " + e);
            return 1;
        }
    }

    /**
     * The Kafka settings: the file named by --kafka-config (which must exist), else the launcher's
     * kafka-client.properties when there is one, else none (a broker without authentication); --bootstrap wins over
     * the file's bootstrap.servers. Null, with the reason printed, when the named file cannot be read.
     */
    static Map<String, Object> kafkaSettings(Path kafkaConfig, Path dataDir, String bootstrap) throws IOException {
        Path file = kafkaConfig != null ? kafkaConfig : dataDir.resolve("credentials").resolve(KafkaCredentials.CLIENT_SETTINGS);
        Map<String, Object> settings = new HashMap<>();
        if (Files.isRegularFile(file)) {
            Properties properties = new Properties();
            try (var in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                properties.load(in);
            }
            properties.forEach((key, value) -> settings.put((String) key, value));
        } else if (kafkaConfig != null) {
            System.err.println("error: no Kafka settings file " + kafkaConfig);
            return null;
        } else {
            System.err.println("no " + file + ": connecting to Kafka without a login (--kafka-config FILE to give one)");
        }
        if (bootstrap != null) {
            settings.put("bootstrap.servers", bootstrap);
        }
        settings.putIfAbsent("bootstrap.servers", "127.0.0.1:9092");
        return settings;
    }

    private static int exchange(Map<String, Object> settings, String id, ObjectNode request, Duration timeout) throws Exception {
        Map<String, Object> common = withAll(settings, Map.of("request.timeout.ms", "10000", "default.api.timeout.ms", "15000"));
        Object bootstrap = settings.get("bootstrap.servers");
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
        Map<String, Object> all = new HashMap<>(a);
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
