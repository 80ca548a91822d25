package io.steergate.it;

import static io.steergate.testing.KafkaPrincipals.readRefusal;
import static io.steergate.testing.KafkaPrincipals.write;
import static io.steergate.testing.KafkaPrincipals.writeRefusal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.kafka.KafkaAcls;
import io.steergate.kafka.KafkaProvisioning;
import io.steergate.kafka.TenantTopics;
import io.steergate.testing.EmbeddedKafka;
import io.steergate.testing.EmbeddedPostgresServer;
import io.steergate.testing.KafkaPrincipals;
import io.steergate.testing.TestModel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Kafka half of the security suite: the packaged application in the {@code per-tenant} mode, as its own SCRAM
 * principal with exactly {@link KafkaAcls#application}, on a broker that authenticates every client and allows only
 * what an ACL grants; each tenant a principal of its own with {@link KafkaAcls#tenant}. A tenant is served on its own
 * topics and the broker refuses it everything else: another tenant's results, requests and consumer groups, the shared
 * topics, and every internal topic (so it cannot forge a job, a job result, a retraining record or its own result).
 */
class KafkaSecurityIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> INTERNAL = List.of(TestModel.JOBS_TOPIC, "steer.jobs.dlq", "steer.job-results",
            "steer.job-results.dlq", "steer.retraining", "steer.retraining.dlq");
    private static final String APP_USER = "steergate";

    private static EmbeddedPostgresServer postgres;
    private static EmbeddedKafka kafka;
    private static AppProcess app;
    private static Map<String, Object> acme;
    private static Map<String, Object> kidsCo;

    @BeforeAll
    static void startStack() {
        postgres = new EmbeddedPostgresServer().start();
        kafka = new EmbeddedKafka(2).withAcls().start();
        String appPassword = UUID.randomUUID().toString();
        Properties adminSettings = new Properties();
        adminSettings.putAll(kafka.adminSettings());
        try (KafkaProvisioning admin = KafkaProvisioning.connect(adminSettings)) {
            List<String> topics = new ArrayList<>(INTERNAL);
            topics.addAll(List.of("steer.requests", "steer.results", "steer.requests.dlq"));
            topics.addAll(TenantTopics.of("acme"));
            topics.addAll(TenantTopics.of("kids-co"));
            admin.createTopics(topics, 2, (short) 1);
            admin.upsertScramUser(APP_USER, appPassword);
            admin.grant(KafkaAcls.application(APP_USER));
            acme = tenant(admin, "acme");
            kidsCo = tenant(admin, "kids-co");
        }
        Map<String, Object> appKafka = kafka.scramClientSettings(APP_USER, appPassword);
        Map<String, String> env = new LinkedHashMap<>();
        env.put("KAFKA_SECURITY_PROTOCOL", String.valueOf(appKafka.get(AdminClientConfig.SECURITY_PROTOCOL_CONFIG)));
        env.put("KAFKA_SASL_MECHANISM", String.valueOf(appKafka.get(SaslConfigs.SASL_MECHANISM)));
        env.put("KAFKA_SASL_JAAS_CONFIG", String.valueOf(appKafka.get(SaslConfigs.SASL_JAAS_CONFIG)));
        env.put("STEERGATE_KAFKA_MODE", "per-tenant");
        app = AppProcess.against(kafka.bootstrapServers(), postgres, "kafka-security", env).start();
    }

    private static Map<String, Object> tenant(KafkaProvisioning admin, String tenant) {
        String password = UUID.randomUUID().toString();
        admin.upsertScramUser(KafkaAcls.tenantUser(tenant), password);
        admin.grant(KafkaAcls.tenant(tenant));
        return kafka.scramClientSettings(KafkaAcls.tenantUser(tenant), password);
    }

    @AfterAll
    static void stopStack() {
        try {
            if (app != null) {
                app.stop();
            }
        } finally {
            try {
                if (kafka != null) {
                    kafka.close();
                }
            } finally {
                if (postgres != null) {
                    postgres.close();
                }
            }
        }
    }

    @Test
    void aTenantIsServedOnItsOwnTopicsThroughTheApplicationsAcls() throws Exception {
        String id = "kafka-sec-" + UUID.randomUUID();
        write(acme, "steer.requests.acme", id, "{\"id\":\"" + id + "\",\"prompt\":\"Once upon a time\",\"maxTokens\":4,\"seed\":1}");
        JsonNode result = awaitResult(acme, "steer.results.acme", "acme.it", id);
        assertEquals("COMPLETED", result.path("status").asText(), result.toString());
        assertEquals("acme", result.path("tenant").asText());
    }

    @Test
    void aBodyNamingAnotherTenantIsRejectedOnTheSendersOwnResultsTopic() throws Exception {
        String id = "kafka-sec-claim-" + UUID.randomUUID();
        write(acme, "steer.requests.acme", id, "{\"id\":\"" + id + "\",\"tenant\":\"kids-co\",\"prompt\":\"Once\",\"maxTokens\":4}");
        JsonNode result = awaitResult(acme, "steer.results.acme", "acme.it", id);
        assertEquals("REJECTED", result.path("status").asText(), result.toString());
        assertEquals("TENANT_MISMATCH", result.path("error").path("code").asText(), result.toString());
        assertEquals("acme", result.path("tenant").asText());
    }

    @Test
    void aTenantCannotReadAnotherTenantsResultsOrDeadLettersNorTheSharedTopics() {
        for (String topic : List.of("steer.results.kids-co", "steer.requests.kids-co.dlq", "steer.results", "steer.requests.dlq")) {
            assertInstanceOf(TopicAuthorizationException.class, readRefusal(acme, topic, "acme.it"), topic);
        }
        for (String topic : INTERNAL) {
            assertInstanceOf(TopicAuthorizationException.class, readRefusal(kidsCo, topic, "kids-co.it"), topic);
        }
    }

    @Test
    void aTenantCannotWriteAnotherTenantsRequestsAnyInternalTopicOrItsOwnResults() {
        List<String> forbidden = new ArrayList<>(INTERNAL);
        forbidden.addAll(List.of("steer.requests.kids-co", "steer.requests", "steer.results.acme", "steer.results.kids-co",
                "steer.requests.acme.dlq"));
        for (String topic : forbidden) {
            assertInstanceOf(TopicAuthorizationException.class, writeRefusal(acme, topic), topic);
        }
    }

    @Test
    void aTenantCannotReadItsOwnResultsInAnotherTenantsOrTheApplicationsConsumerGroup() {
        for (String group : List.of("kids-co.it", "steergate-gateway")) {
            assertInstanceOf(GroupAuthorizationException.class, readRefusal(acme, "steer.results.acme", group), group);
        }
    }

    @Test
    void aTenantPrincipalWithAWrongPasswordIsRefused() {
        Map<String, Object> wrong = kafka.scramClientSettings(KafkaAcls.tenantUser("acme"), "not-the-password");
        try (Admin admin = Admin.create(wrong)) {
            ExecutionException refused = assertThrows(ExecutionException.class,
                    () -> admin.listTopics().names().get(30, TimeUnit.SECONDS));
            assertInstanceOf(SaslAuthenticationException.class, refused.getCause());
        }
        assertTrue(app.isAlive(), app.health());
    }

    /** Reads the topic from the beginning as the principal until the result for {@code id} arrives. */
    private static JsonNode awaitResult(Map<String, Object> principal, String topic, String group, String id) throws Exception {
        try (KafkaConsumer<String, String> consumer = KafkaPrincipals.consumer(principal, group)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(250))) {
                    if (id.equals(record.key())) {
                        return JSON.readTree(record.value());
                    }
                }
            }
        }
        throw new AssertionError("no result for " + id + " on " + topic + " within 120 s; app " + app.health()
                + "\n" + app.logTail(40));
    }
}
