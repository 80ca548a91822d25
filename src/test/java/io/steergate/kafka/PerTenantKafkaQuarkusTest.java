package io.steergate.kafka;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.steergate.outbox.DeadLetters;
import io.steergate.security.ApiKeys;
import io.steergate.security.Roles;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.TopicClient;
import io.steergate.testing.TopicClient.Received;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The per-tenant Kafka mode end to end (a real broker, PostgreSQL and model): with steergate.kafka.mode=per-tenant and
 * nothing else configured, the gateway consumes every steer.requests.&lt;tenant&gt;, takes the tenant from the topic,
 * refuses a body naming another, and answers each tenant only on its own results and dead-letter topics.
 */
@QuarkusTest
@TestProfile(PerTenantKafkaQuarkusTest.PerTenantProfile.class)
class PerTenantKafkaQuarkusTest {

    /** The default test application with only the mode switched: a boot of its own. */
    public static class PerTenantProfile extends SteerGateTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(KafkaMode.PROPERTY, KafkaMode.PER_TENANT.value());
        }
    }

    static final Duration WAIT = Duration.ofSeconds(90);

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @Inject
    ApiKeys keys;

    TopicClient kafka;

    @BeforeEach
    void connect() {
        kafka = new TopicClient(bootstrapServers);
        createTopics("acme", "kids-co");
    }

    @AfterEach
    void disconnect() {
        kafka.close();
    }

    @Test
    void aRequestWithoutTenantOnATenantsTopicIsThatTenantsAndAnsweredOnlyOnItsResultsTopic() {
        String id = id("pt-own");
        send("steer.requests.acme", id, "{\"id\":\"" + id + "\",\"prompt\":\"Once upon a time\",\"maxTokens\":8}");
        JsonNode result = kafka.awaitRecord("steer.results.acme", id, WAIT).json();
        assertEquals("COMPLETED", result.get("status").asText(), result.toString());
        assertEquals("acme", result.get("tenant").asText());
        // sent again: the stored result is published again, on the same tenant's topic
        send("steer.requests.acme", id, "{\"id\":\"" + id + "\",\"prompt\":\"Once upon a time\",\"maxTokens\":8}");
        List<Received> copies = kafka.awaitRecords("steer.results.acme", r -> id.equals(r.key()), 2, WAIT);
        assertEquals(copies.get(0).text(), copies.get(1).text());
        assertFalse(keysUpToNow("steer.results").contains(id), "a per-tenant result leaked onto the shared steer.results");
    }

    @Test
    void aBodyNamingAnotherTenantIsRejectedUnderTheTopicsTenantAndNeverReachesTheNamedOne() {
        String id = id("pt-claim");
        send("steer.requests.acme", id, "{\"id\":\"" + id + "\",\"tenant\":\"kids-co\",\"prompt\":\"Once upon a time\",\"maxTokens\":8}");
        JsonNode result = kafka.awaitRecord("steer.results.acme", id, WAIT).json();
        assertEquals("REJECTED", result.get("status").asText(), result.toString());
        assertEquals("acme", result.get("tenant").asText());
        assertEquals("TENANT_MISMATCH", result.get("error").get("code").asText());
        assertTrue(result.get("error").get("message").asText().contains("kids-co"), result.toString());

        assertFalse(keysUpToNow("steer.results.kids-co").contains(id), "the claimed tenant got a result");
        assertFalse(keysUpToNow("steer.results").contains(id), "a per-tenant result leaked onto the shared steer.results");
        // stored as acme's: kids-co has no generation with this id, acme has the rejection
        given().header("Authorization", "Bearer " + clientKey("kids-co")).get("/v1/generations/" + id)
                .then().statusCode(404);
        given().header("Authorization", "Bearer " + clientKey("acme")).get("/v1/generations/" + id)
                .then().statusCode(200).body("status", equalTo("REJECTED")).body("error.code", equalTo("TENANT_MISMATCH"));
    }

    @Test
    void unreadableBytesOnATenantsTopicGoToThatTenantsDeadLetterTopic() {
        String key = id("pt-garbage");
        byte[] garbage = "not json at all".getBytes(StandardCharsets.UTF_8);
        kafka.send("steer.requests.acme", key, garbage);
        Received dead = kafka.awaitRecord("steer.requests.acme.dlq", key, WAIT);
        assertEquals("not json at all", dead.text());
        assertEquals("NOT_JSON", dead.header(DeadLetters.ERROR_CODE_HEADER));
        assertFalse(keysUpToNow("steer.requests.dlq").contains(key), "a tenant's dead letter went to the shared topic");
    }

    @Test
    void aTenantWhoseTopicsAreCreatedAfterTheStartIsServed() throws Exception {
        String tenant = "story-app";
        try (Admin admin = admin()) {
            assertFalse(admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(TenantTopics.requests(tenant)),
                    "the tenant's topics must not exist before this test creates them");
        }
        createTopics(tenant);
        String id = id("pt-new");
        send(TenantTopics.requests(tenant), id, "{\"id\":\"" + id + "\",\"prompt\":\"Once upon a time\",\"maxTokens\":8}");
        JsonNode result = kafka.awaitRecord(TenantTopics.results(tenant), id, WAIT).json();
        assertEquals("COMPLETED", result.get("status").asText(), result.toString());
        assertEquals(tenant, result.get("tenant").asText());
    }

    @Test
    void anHttpRequestIsAnsweredOnItsTenantsResultsTopic() {
        String id = id("pt-http");
        given().header("Authorization", "Bearer " + clientKey("acme")).contentType("application/json")
                .body("{\"id\":\"" + id + "\",\"prompt\":\"Once upon a time\",\"maxTokens\":8}")
                .post("/v1/generations")
                .then().statusCode(200).body("status", equalTo("COMPLETED")).body("tenant", equalTo("acme"));
        JsonNode published = kafka.awaitRecord("steer.results.acme", id, WAIT).json();
        assertEquals("COMPLETED", published.get("status").asText());
        assertFalse(keysUpToNow("steer.results").contains(id), "an HTTP result went to the shared steer.results");
    }

    private static String id(String what) {
        return what + "-" + UUID.randomUUID();
    }

    private void send(String topic, String id, String json) {
        kafka.send(topic, id, json.getBytes(StandardCharsets.UTF_8));
    }

    private String clientKey(String tenant) {
        return keys.issue(List.of(tenant), List.of(Roles.CLIENT), "per-tenant test", null, "test").key();
    }

    private Admin admin() {
        return Admin.create(Map.of("bootstrap.servers", bootstrapServers));
    }

    private void createTopics(String... tenants) {
        List<NewTopic> topics = new ArrayList<>();
        for (String tenant : tenants) {
            TenantTopics.of(tenant).forEach(name -> topics.add(new NewTopic(name, 2, (short) 1)));
        }
        try (Admin admin = admin()) {
            for (var created : admin.createTopics(topics).values().values()) {
                try {
                    created.get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("could not create " + topics, e);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("could not create " + topics + " in 30 s", e);
        }
    }

    /**
     * The keys of every record the topic holds now: read from the beginning up to the end offsets of this moment. A
     * result is published once from one outbox row, so once it has arrived on its topic, this shows whether a copy
     * went anywhere else, without waiting for something that should not come.
     */
    private Set<String> keysUpToNow(String topic) {
        Map<String, Object> props = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName(),
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props)) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(30));
            Set<String> keys = new java.util.HashSet<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("could not read " + topic + " up to " + end + " in 60 s");
                }
                consumer.poll(Duration.ofMillis(200)).forEach(r -> keys.add(r.key()));
            }
            return keys;
        }
    }
}
