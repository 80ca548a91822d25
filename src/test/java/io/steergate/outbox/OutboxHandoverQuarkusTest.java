package io.steergate.outbox;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.TopicClient;
import io.steergate.testing.TopicClient.Received;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * Rows appended through {@link Outbox} are handed to the relay after their commit and sent without a table read; what
 * a send does not deliver is left in the table, where the relay's table pass publishes it as it publishes rows no
 * process handed over.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class OutboxHandoverQuarkusTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @Inject
    Outbox outbox;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @Test
    void aCommittedRowIsPublishedOnceAndItsRowDeleted() {
        String key = "handover-" + UUID.randomUUID();
        try (TopicClient kafka = new TopicClient(bootstrapServers); TopicClient.Tail tail = kafka.tail("steer.results")) {
            long id = append("steer.results", key, "{\"n\":1}");
            tail.await(r -> key.equals(r.key()), 1, WAIT);
            // deleted once acknowledged: nothing is left for a table pass to send again
            await().atMost(WAIT).until(() -> row(id) == null);
            // a second row behind it, so that any late copy of the first would have arrived before this one
            append("steer.results", key, "{\"n\":2}");
            tail.await(r -> key.equals(r.key()) && r.text().equals("{\"n\":2}"), 1, WAIT);
            assertEquals(List.of("{\"n\":1}", "{\"n\":2}"), tail.records(r -> key.equals(r.key())).stream().map(Received::text).toList());
        }
    }

    @Test
    void aRowWhoseSendFailsIsLeftToTheTablePassWhichSetsItAsideAndTheRowsBehindItStillGo() {
        String key = "handover-refused-" + UUID.randomUUID();
        try (TopicClient kafka = new TopicClient(bootstrapServers); TopicClient.Tail tail = kafka.tail("steer.results")) {
            long refused = append("not a valid topic!", key, "{}");
            append("steer.results", key, "{\"after\":true}");
            tail.await(r -> key.equals(r.key()), 1, WAIT);
            OutboxEvent setAside = await().atMost(WAIT).until(() -> row(refused), row -> row != null && row.setAsideAt != null);
            // the refusals are the table pass's: the failed send at once does not count
            assertEquals(5, setAside.attempts);
            assertTrue(setAside.lastError.contains("InvalidTopicException"), setAside.lastError);
            String afterRefusal = "handover-after-" + UUID.randomUUID();
            long next = append("steer.results", afterRefusal, "{}");
            tail.await(r -> afterRefusal.equals(r.key()), 1, WAIT);
            await().atMost(WAIT).until(() -> row(next) == null);
        }
    }

    private long append(String topic, String key, String payload) {
        return QuarkusTransaction.requiringNew().call(() -> {
            outbox.append(topic, key, payload.getBytes(StandardCharsets.UTF_8), null);
            return OutboxEvent.<OutboxEvent>find("messageKey = ?1 order by id desc", key).firstResult().id;
        });
    }

    private static OutboxEvent row(long id) {
        return QuarkusTransaction.requiringNew().call(() -> OutboxEvent.<OutboxEvent>findById(id));
    }
}
