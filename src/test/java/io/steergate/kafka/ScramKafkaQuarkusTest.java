package io.steergate.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.common.annotation.Identifier;
import io.steergate.testing.KafkaAndPostgresResource;
import io.steergate.testing.ScramKafkaTestProfile;
import io.steergate.testing.TopicClient;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
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
        // the test reads in consumer groups of its own, which the application's ACLs rightly do not cover
        Map<String, Object> operator = new HashMap<>(kafkaSettings);
        operator.put(SaslConfigs.SASL_MECHANISM, adminMechanism);
        operator.put(SaslConfigs.SASL_JAAS_CONFIG, adminJaasConfig);
        try (TopicClient kafka = new TopicClient(operator)) {
            kafka.send("steer.requests", id, body.getBytes(StandardCharsets.UTF_8));
            JsonNode result = kafka.awaitRecord("steer.results", id, Duration.ofSeconds(120)).json();
            assertEquals("COMPLETED", result.get("status").asText(), result.toString());
        }
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
