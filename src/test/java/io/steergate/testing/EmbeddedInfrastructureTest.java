package io.steergate.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Proves the embedded broker and database work on this machine, without Quarkus. */
class EmbeddedInfrastructureTest {

    private static EmbeddedKafka kafka;
    private static EmbeddedPostgresServer postgres;

    @BeforeAll
    static void start() {
        kafka = new EmbeddedKafka().start();
        postgres = new EmbeddedPostgresServer().start();
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    @Test
    void brokerRoundTripsARecordWithHeaders() {
        kafka.createTopics(3, "infra.roundtrip");
        try (TopicClient topics = new TopicClient(kafka.bootstrapServers())) {
            topics.sendJson("infra.roundtrip", "other", "{\"n\":0}");
            topics.sendJson("infra.roundtrip", "k-1", Map.of("n", 1), Map.of("h", "v"));

            TopicClient.Received received = topics.awaitRecord("infra.roundtrip", "k-1", Duration.ofSeconds(30));

            assertEquals(1, received.json().get("n").asInt());
            assertEquals("v", received.header("h"));
        }
    }

    @Test
    void autoCreatedTopicIsReadFromTheBeginning() {
        try (TopicClient topics = new TopicClient(kafka.bootstrapServers())) {
            topics.send("infra.auto", "a", "not json".getBytes(java.nio.charset.StandardCharsets.UTF_8));

            assertEquals("not json", topics.awaitRecord("infra.auto", "a", Duration.ofSeconds(30)).text());
        }
    }

    @Test
    void postgresAnswersSelectOne() throws Exception {
        try (Connection connection = DriverManager.getConnection(postgres.jdbcUrl(), postgres.username(), postgres.password());
             Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("select 1")) {
            rows.next();
            assertEquals(1, rows.getInt(1));
        }
    }
}
