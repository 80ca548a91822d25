package io.steergate.gateway;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.steergate.audit.AuditRecord;
import io.steergate.testing.EmbeddedKafka;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.TopicClient;
import io.steergate.testing.Management;
import io.steergate.testing.TopicClient.Received;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The delivery rules of docs/architecture.md 4.3, end to end in one JVM: a real KRaft broker, a real PostgreSQL, the real model.
 * Each test uses its own request ids, so the tests share one boot and do not depend on order.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class GatewayDeliveryQuarkusTest {

    static final String GOLDEN_PREFIX = ", there was a little girl named Lily. She loved to play outside in the park.";
    static final Duration WAIT = Duration.ofSeconds(60);

    @ConfigProperty(name = "steergate.limits.message-bytes")
    int messageBytes;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    TopicClient kafka;

    @BeforeEach
    void connect() {
        kafka = new TopicClient(bootstrapServers);
    }

    @AfterEach
    void disconnect() {
        kafka.close();
    }

    static String id(String what) {
        return what + "-" + UUID.randomUUID();
    }

    static String request(String id, String extra) {
        return "{\"id\":\"" + id + "\",\"tenant\":\"acme\",\"prompt\":\"Once upon a time\"" + extra + "}";
    }

    Received send(String id, String body) {
        kafka.send("steer.requests", id, body.getBytes(StandardCharsets.UTF_8));
        return kafka.awaitRecord("steer.results", id, WAIT);
    }

    @Test
    void greedyRequestIsCompletedWithTheReferenceTextAndStoredWithItsAuditRecord() {
        String id = id("golden");
        JsonNode result = send(id, request(id, ",\"maxTokens\":64")).json();

        assertEquals("COMPLETED", result.get("status").asText());
        assertTrue(result.get("text").asText().startsWith(GOLDEN_PREFIX), result.get("text").asText());
        assertEquals("acme", result.get("tenant").asText());
        assertEquals("stories260K", result.at("/model/name").asText());
        assertTrue(result.at("/model/fingerprint").asText().startsWith("sha256:"));
        assertEquals("default", result.at("/policy/id").asText());
        assertEquals(5, result.at("/usage/promptTokens").asInt());
        assertEquals(64, result.at("/usage/completionTokens").asInt());
        assertTrue(result.get("error").isNull());

        AuditRecord audit = QuarkusTransaction.requiringNew().call(() -> AuditRecord.<AuditRecord>find("requestId", id).singleResult());
        assertEquals("COMPLETED", audit.status);
        assertEquals(result.at("/model/fingerprint").asText(), audit.modelFingerprint);
        assertEquals(result.at("/policy/version").asText(), audit.policyVersion);
        assertEquals(result.get("text").asText(), audit.outputText);
        assertEquals("[]", audit.appliedJson);
    }

    @Test
    void theSameIdSentTwiceIsGeneratedOnceAndBothResultsAreIdentical() {
        String id = id("twice");
        String body = request(id, ",\"maxTokens\":16,\"temperature\":1.0,\"seed\":3");
        send(id, body);
        kafka.send("steer.requests", id, body.getBytes(StandardCharsets.UTF_8));

        List<Received> copies = kafka.awaitRecords("steer.results", r -> id.equals(r.key()), 2, WAIT);
        assertEquals(2, copies.size());
        assertArrayEquals(copies.get(0).value(), copies.get(1).value());
        assertEquals(1L, QuarkusTransaction.requiringNew().call(() -> Generation.count("requestId", id)));
        assertEquals(1L, QuarkusTransaction.requiringNew().call(() -> AuditRecord.count("requestId", id)));
    }

    @Test
    void sameSeedSamplesTheSameText() {
        String first = id("seeded");
        String second = id("seeded");
        String sampling = ",\"maxTokens\":24,\"temperature\":0.9,\"topP\":0.9,\"seed\":1234";
        String a = send(first, request(first, sampling)).json().get("text").asText();
        String b = send(second, request(second, sampling)).json().get("text").asText();
        assertEquals(a, b);
    }

    @Test
    void unreadableMessagesGoToTheDeadLetterTopicWithTheReasonAndTheConsumerGoesOn() {
        String key = id("dlq");
        byte[][] bad = {
            "not json".getBytes(StandardCharsets.UTF_8),
            "[1,2]".getBytes(StandardCharsets.UTF_8),
            "\"a string\"".getBytes(StandardCharsets.UTF_8),
            "{\"tenant\":\"acme\",\"prompt\":\"p\"}".getBytes(StandardCharsets.UTF_8),
            ("{\"id\":\"" + "x".repeat(129) + "\",\"tenant\":\"acme\",\"prompt\":\"p\"}").getBytes(StandardCharsets.UTF_8),
            {(byte) 0xff, (byte) 0xfe, (byte) 0x80},
        };
        String[] codes = {"NOT_JSON", "NOT_AN_OBJECT", "NOT_AN_OBJECT", "INVALID_ID", "INVALID_ID", "INVALID_ENCODING"};
        for (int i = 0; i < bad.length; i++) {
            kafka.send("steer.requests", key + "-" + i, bad[i]);
        }
        for (int i = 0; i < bad.length; i++) {
            Received dead = kafka.awaitRecord("steer.requests.dlq", key + "-" + i, WAIT);
            assertArrayEquals(bad[i], dead.value(), "the original bytes, unchanged");
            assertEquals(codes[i], dead.header("steergate-error-code"));
            assertTrue(!dead.header("steergate-error-message").isBlank());
        }
        // a key PostgreSQL text cannot hold: before V22 the record could not be dead-lettered and was dropped
        String nulKey = key + "-nul\u0000";
        kafka.send("steer.requests", nulKey, bad[0]);
        Received dead = kafka.awaitRecord("steer.requests.dlq", nulKey, WAIT);
        assertArrayEquals(bad[0], dead.value());
        assertEquals("NOT_JSON", dead.header("steergate-error-code"));
        String next = id("after-dlq");
        assertEquals("COMPLETED", send(next, request(next, ",\"maxTokens\":4")).json().get("status").asText());
    }

    @Test
    void anUnreadableRequestWhoseKeyIsNotUtf8IsDeadLetteredWithTheKeyBytesUnchanged() {
        byte[] key = {(byte) 0xff, (byte) 0xfe, 'a'};
        byte[] value = ("not json " + UUID.randomUUID()).getBytes(StandardCharsets.UTF_8);
        Map<String, Object> settings = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(settings, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("steer.requests", key, value)).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("could not send to steer.requests", e);
        }
        ConsumerRecord<byte[], byte[]> dead = awaitRawRecord("steer.requests.dlq", value);
        // before, the key was read as text: each invalid byte became U+FFFD, and the DLQ record's key EF BF BD EF BF BD 61
        assertArrayEquals(key, dead.key(), "the original key bytes, unchanged");
        assertEquals("NOT_JSON", new String(dead.headers().lastHeader("steergate-error-code").value(), StandardCharsets.UTF_8));
    }

    /** The first record of {@code topic} whose value is {@code value}, read from the beginning with its key as bytes. */
    ConsumerRecord<byte[], byte[]> awaitRawRecord(String topic, byte[] value) {
        Map<String, Object> settings = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.GROUP_ID_CONFIG, "test-raw-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(settings, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (Arrays.equals(value, record.value())) {
                        return record;
                    }
                }
            }
        }
        throw new AssertionError("no record with the sent value on " + topic + " within " + WAIT);
    }

    @Test
    void readableIdWithBadFieldsGetsRejectedResultsNamingTheFieldAndTheConsumerGoesOn() {
        String[][] cases = {
            {"{\"id\":\"%s\",\"prompt\":\"p\"}", "tenant: missing"},
            {"{\"id\":\"%s\",\"tenant\":\"acme\",\"prompt\":\"\"}", "prompt: must not be empty"},
            {"{\"id\":\"%s\",\"tenant\":\"acme\",\"prompt\":\"" + "a".repeat(8001) + "\"}", "prompt: must be at most 8000 characters, got 8001"},
            {"{\"id\":\"%s\",\"tenant\":\"acme\",\"prompt\":\"p\",\"maxTokens\":0}", "maxTokens: must be between 1 and 512, got 0"},
            {"{\"id\":\"%s\",\"tenant\":\"acme\",\"prompt\":\"p\",\"maxTokens\":1000000}", "maxTokens: must be between 1 and 512, got 1000000"},
            {"{\"id\":\"%s\",\"tenant\":\"acme\",\"prompt\":\"p\",\"temperature\":-1}", "temperature: must be between 0 and 2, got -1.0"},
            {"{\"id\":\"%s\",\"tenant\":\"acme\",\"prompt\":\"p\",\"topP\":0}", "topP: must be in (0, 1], got 0.0"},
            {"{\"id\":\"%s\",\"tenant\":\"acme\",\"prompt\":\"p\",\"maxTokens\":\"ten\"}", "maxTokens: must be an integer, got a string"},
            {"{\"id\":\"%s\",\"tenant\":\"acme\",\"prompt\":42}", "prompt: must be a string, got an integer"},
        };
        for (String[] c : cases) {
            String id = id("bad-field");
            JsonNode result = send(id, String.format(c[0], id)).json();
            assertEquals("REJECTED", result.get("status").asText(), c[1]);
            assertEquals("INVALID_REQUEST", result.at("/error/code").asText());
            assertEquals(c[1], result.at("/error/message").asText());
        }
        String id = id("not-utf8");
        byte[] latin1 = request(id, "").replace("Once", "\u00c9ons").getBytes(StandardCharsets.ISO_8859_1);
        kafka.send("steer.requests", id, latin1);
        JsonNode result = kafka.awaitRecord("steer.results", id, WAIT).json();
        assertEquals("INVALID_ENCODING", result.at("/error/code").asText());
        assertEquals("prompt: not valid UTF-8", result.at("/error/message").asText());

        String next = id("after-rejects");
        assertEquals("COMPLETED", send(next, request(next, ",\"maxTokens\":4")).json().get("status").asText());
    }

    @Test
    void aMessageOverTheSizeLimitIsRejectedAndTheConsumerGoesOn() {
        // the broker takes a little more than the gateway's limit (EmbeddedKafka.MESSAGE_MAX_BYTES, as deploy/run's),
        // so a request just over it reaches the gateway and is answered
        String id = id("huge");
        String body = request(id, ",\"styles\":[\"" + "x".repeat(messageBytes + 1_000) + "\"]");
        assertTrue(body.length() < EmbeddedKafka.MESSAGE_MAX_BYTES - 1_000, "the test record fits the broker");
        JsonNode result = send(id, body).json();
        assertEquals("REJECTED", result.get("status").asText());
        assertEquals("MESSAGE_TOO_LARGE", result.at("/error/code").asText());

        String next = id("after-huge");
        assertEquals("COMPLETED", send(next, request(next, ",\"maxTokens\":4")).json().get("status").asText());
    }

    @Test
    void aFiveMegabyteRequestIsRefusedByTheBrokerOverKafkaAndByTheGatewayOverHttp() {
        String id = id("five-mb");
        String body = request(id, ",\"styles\":[\"" + "x".repeat(5 * 1024 * 1024) + "\"]");
        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> kafka.send("steer.requests", id, body.getBytes(StandardCharsets.UTF_8)));
        assertTrue(refused.getCause().getCause() instanceof RecordTooLargeException, String.valueOf(refused.getCause()));

        given().body(body).contentType("application/json").when().post("/v1/generations")
                .then().statusCode(413).body("code", equalTo("MESSAGE_TOO_LARGE"));
    }

    @Test
    void httpGenerationUsesTheSamePipelineAndCanBeReadBack() {
        String id = id("http");
        given().body(request(id, ",\"maxTokens\":64")).contentType("application/json")
                .when().post("/v1/generations")
                .then().statusCode(200)
                .body("status", equalTo("COMPLETED"))
                .body("text", startsWith(GOLDEN_PREFIX));
        given().when().get("/v1/generations/" + id)
                .then().statusCode(200).body("id", equalTo(id)).body("status", equalTo("COMPLETED"));
        // the HTTP outcome is published on steer.results too
        assertEquals("COMPLETED", kafka.awaitRecord("steer.results", id, WAIT).json().get("status").asText());
    }

    @Test
    void httpBadInputGetsJsonErrorsWithTheRightStatus() {
        given().body("not json").contentType("application/json").when().post("/v1/generations")
                .then().statusCode(400).body("code", equalTo("NOT_JSON"));
        given().body(request(id("http-bad"), ",\"topP\":0")).contentType("application/json").when().post("/v1/generations")
                .then().statusCode(400).body("code", equalTo("INVALID_REQUEST")).body("message", equalTo("topP: must be in (0, 1], got 0.0"));
        given().when().get("/v1/generations/no-such-id")
                .then().statusCode(404).body("code", equalTo("NOT_FOUND"));
        given().when().get("/v1/no-such-path")
                .then().statusCode(404).body("code", equalTo("NOT_FOUND"));
    }

    @Test
    void promptThatDoesNotFitTheModelContextIsRejectedByTheWorker() {
        String id = id("too-long");
        String prompt = "Once upon a time ".repeat(300);
        JsonNode result = send(id, "{\"id\":\"" + id + "\",\"tenant\":\"acme\",\"prompt\":\"" + prompt + "\"}").json();
        assertEquals("REJECTED", result.get("status").asText());
        assertEquals("PROMPT_TOO_LONG", result.at("/error/code").asText());
        assertTrue(result.at("/error/message").asText().startsWith("prompt: "));
    }

    @Test
    void healthAndMetricsAreExposed() {
        Management.given().when().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"));
        String id = id("metrics");
        send(id, request(id, ",\"maxTokens\":4"));
        Management.given().when().get("/q/metrics").then().statusCode(200)
                .body(containsString("steergate_requests_total"))
                .body(containsString("steergate_request_latency_seconds"))
                .body(containsString("steergate_worker_batch_size"))
                .body(containsString("steergate_worker_tokens_generated_total"))
                .body(containsString("kafka_consumer_fetch_manager_records_lag_max"));
        Management.given().when().get("/q/openapi").then().statusCode(200).body(containsString("/v1/generations"));
    }
}
