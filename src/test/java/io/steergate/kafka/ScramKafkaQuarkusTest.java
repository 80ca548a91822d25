package io.steergate.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.common.annotation.Identifier;
import io.steergate.outbox.OutboxEvent;
import io.steergate.testing.KafkaAndPostgresResource;
import io.steergate.testing.OutboxRows;
import io.steergate.testing.ScramKafkaTestProfile;
import io.steergate.testing.TopicClient;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * Every Kafka client of the application (SmallRye channels, the outbox relay, the job worker) authenticates with the
 * kafka.* SASL/SCRAM settings alone and needs no more rights than {@link KafkaAcls#application}: on a broker that
 * refuses anyone else and authorizes with ACLs, a request sent by the operator still completes.
 */
@QuarkusTest
@TestProfile(ScramKafkaTestProfile.class)
class ScramKafkaQuarkusTest {

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafkaSettings;

    @ConfigProperty(name = KafkaAndPostgresResource.KAFKA_ADMIN_PREFIX + SaslConfigs.SASL_MECHANISM)
    String adminMechanism;

    @ConfigProperty(name = KafkaAndPostgresResource.KAFKA_ADMIN_PREFIX + SaslConfigs.SASL_JAAS_CONFIG)
    String adminJaasConfig;

    @Test
    void aRequestCompletesWhenEveryClientAuthenticatesWithScramAndHasOnlyTheApplicationsAcls() {
        String id = "scram-" + UUID.randomUUID();
        String body = "{\"id\":\"" + id + "\",\"tenant\":\"acme\",\"prompt\":\"Once upon a time\",\"maxTokens\":8}";
        try (TopicClient kafka = new TopicClient(operator())) {
            kafka.send("steer.requests", id, body.getBytes(StandardCharsets.UTF_8));
            JsonNode result = kafka.awaitRecord("steer.results", id, Duration.ofSeconds(120)).json();
            assertEquals("COMPLETED", result.get("status").asText(), result.toString());
        }
    }

    /**
     * On this broker, as in production (auto-create off or, here, no CREATE right), an outbox record for a topic that
     * does not exist (steer.results of a per-tenant tenant never given its topics, a deleted tenant's) waits for its
     * topic's metadata until max.block.ms, as for an away broker. Before, the relay took it for one: nothing behind it
     * was deleted (re-sent on every pass) and it was never counted, so it held the relay for good.
     */
    @Test
    void aRecordForATopicThatDoesNotExistIsSetAsideAndTheRecordsBehindItGoOutOnce() throws InterruptedException {
        String key = "ghost-" + UUID.randomUUID();
        String missing = "steer.results." + key;
        long ghostId = QuarkusTransaction.requiringNew().call(() -> {
            OutboxEvent ghost = OutboxRows.row(missing, key, "{}");
            ghost.persist();
            OutboxRows.row("steer.results", key, "{\"n\":1}").persist();
            return ghost.id;
        });
        OutboxEvent setAside = OutboxRows.awaitSetAside(ghostId, SET_ASIDE_WAIT);
        assertEquals(5, setAside.attempts);
        assertTrue(setAside.lastError.contains("UnknownTopicOrPartitionException"), setAside.lastError);
        QuarkusTransaction.requiringNew().run(() -> OutboxRows.row("steer.results", key, "{\"n\":2}").persist());
        try (TopicClient kafka = new TopicClient(operator()); TopicClient.Tail tail = kafka.tail("steer.results")) {
            tail.await(r -> key.equals(r.key()) && r.text().equals("{\"n\":2}"), 1, SET_ASIDE_WAIT);
            assertEquals(List.of("{\"n\":1}", "{\"n\":2}"), tail.records(r -> key.equals(r.key())).stream()
                    .map(TopicClient.Received::text).toList(), "each once, in order");
        }
    }

    private static final Duration SET_ASIDE_WAIT = Duration.ofMinutes(3);

    /** The test reads in consumer groups of its own, which the application's ACLs rightly do not cover. */
    private Map<String, Object> operator() {
        Map<String, Object> operator = new HashMap<>(kafkaSettings);
        operator.put(SaslConfigs.SASL_MECHANISM, adminMechanism);
        operator.put(SaslConfigs.SASL_JAAS_CONFIG, adminJaasConfig);
        return operator;
    }

    @Test
    void aClientWithAWrongPasswordIsRefusedByTheBroker() {
        Map<String, Object> wrong = new HashMap<>(kafkaSettings);
        wrong.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                + KafkaAndPostgresResource.SCRAM_USER + "\" password=\"not-the-password\";");
        try (Admin admin = Admin.create(wrong)) {
            ExecutionException refused = assertThrows(ExecutionException.class,
                    () -> admin.listTopics().names().get(30, TimeUnit.SECONDS));
            assertInstanceOf(SaslAuthenticationException.class, refused.getCause());
        }
    }
}
