package io.steergate.gateway;

import static io.steergate.gateway.GatewayDeliveryQuarkusTest.WAIT;
import static io.steergate.gateway.GatewayDeliveryQuarkusTest.id;
import static io.steergate.gateway.GatewayDeliveryQuarkusTest.request;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.TopicClient;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * Outcomes stored by one gateway instance reach callers waiting at another at once ({@link OutcomeNotices}). "Another
 * instance" is this test's own JDBC connection, which stores an outcome the way a second gateway would (the row's
 * result, then NOTIFY in the same transaction); the application's local completion path cannot be what answers the
 * waiter, since the application never stored that outcome itself.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class OutcomeNoticesQuarkusTest {

    private static final String TENANT = "acme";

    @Inject
    GenerationWaiters waiters;

    @Inject
    MeterRegistry metrics;

    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String jdbcUrl;

    @ConfigProperty(name = "quarkus.datasource.username")
    String appRole;

    @ConfigProperty(name = "quarkus.datasource.password")
    String appPassword;

    @ConfigProperty(name = "steergate.test.postgres.superuser")
    String superuser;

    @ConfigProperty(name = "steergate.test.postgres.superuser-password")
    String superuserPassword;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @Test
    void aWaiterIsAnsweredByTheNoticeOfAnOutcomeAnotherInstanceStored() throws Exception {
        awaitListening();
        assertWaiterAnsweredByNotice(id("notice"));
    }

    @Test
    void theTransactionThatStoresAnOutcomeAnnouncesIt() throws Exception {
        String id = id("announce");
        try (Connection listener = DriverManager.getConnection(jdbcUrl, appRole, appPassword);
             TopicClient kafka = new TopicClient(bootstrapServers)) {
            try (Statement listen = listener.createStatement()) {
                listen.execute("LISTEN " + OutcomeNotices.CHANNEL);
            }
            kafka.send("steer.requests", id, request(id, ",\"maxTokens\":4").getBytes(StandardCharsets.UTF_8));
            assertEquals("COMPLETED", kafka.awaitRecord("steer.results", id, WAIT).json().get("status").asText());
            List<String> payloads = new ArrayList<>();
            PGConnection notices = listener.unwrap(PGConnection.class);
            await().atMost(WAIT).until(() -> {
                PGNotification[] received = notices.getNotifications(500);
                for (PGNotification notice : received == null ? new PGNotification[0] : received) {
                    payloads.add(notice.getParameter());
                }
                return payloads.contains(TENANT + "/" + id);
            });
        }
    }

    @Test
    void theListenerListensAgainAfterItsConnectionIsKilled() throws Exception {
        int before = awaitListening();
        try (Connection admin = DriverManager.getConnection(jdbcUrl, superuser, superuserPassword);
             Statement statement = admin.createStatement()) {
            statement.execute("select pg_terminate_backend(pid) from pg_stat_activity where application_name = '"
                    + OutcomeNotices.APPLICATION_NAME + "'");
        }
        int after = awaitListening(before);
        assertNotEquals(before, after, "a new connection listens");
        assertWaiterAnsweredByNotice(id("notice-again"));
    }

    /**
     * A PENDING row and a watch on it that has already read it once; then the outcome is stored and announced from
     * outside the application. The watch is not asked again until the notice has answered it (the counter moved), so
     * its own re-read cannot be what finds the outcome.
     */
    private void assertWaiterAnsweredByNotice(String id) throws Exception {
        QuarkusTransaction.requiringNew().run(() -> {
            Generation row = new Generation();
            row.requestId = id;
            row.tenant = TENANT;
            row.status = Generation.State.PENDING;
            row.source = Generation.Source.HTTP;
            row.acceptedAt = Instant.now();
            row.persist();
        });
        String resultJson = "{\"id\":\"" + id + "\",\"tenant\":\"" + TENANT + "\",\"status\":\"COMPLETED\",\"text\":\"elsewhere\"}";
        double woke = wokeCount();
        try (GenerationWaiters.Watch watch = waiters.watch(TENANT, id)) {
            assertEquals(Optional.empty(), watch.poll(Duration.ZERO), "still pending");
            storeElsewhere(id, resultJson);
            await().atMost(WAIT).until(() -> wokeCount() > woke);
            assertEquals(Optional.of(resultJson), watch.poll(Duration.ZERO));
        }
    }

    /** What a second gateway instance does when it completes a request: the row, and the notice in the same transaction. */
    private void storeElsewhere(String id, String resultJson) throws SQLException {
        try (Connection other = DriverManager.getConnection(jdbcUrl, appRole, appPassword)) {
            other.setAutoCommit(false);
            try (PreparedStatement update = other.prepareStatement(
                    "update generations set status = 'COMPLETED', result_json = ?, completed_at = now() where tenant = ? and request_id = ?");
                 PreparedStatement notify = other.prepareStatement("select pg_notify(?, ?)")) {
                update.setString(1, resultJson);
                update.setString(2, TENANT);
                update.setString(3, id);
                assertEquals(1, update.executeUpdate());
                notify.setString(1, OutcomeNotices.CHANNEL);
                notify.setString(2, TENANT + "/" + id);
                notify.executeQuery().close();
            }
            other.commit();
        }
    }

    private int awaitListening() throws Exception {
        return awaitListening(0);
    }

    /**
     * Waits until the application's listener holds its LISTEN on a connection other than {@code notPid}'s (its backend
     * present, the gauge at 1: the listener sets it after LISTEN, and to 0 when its connection fails); returns its pid.
     */
    private int awaitListening(int notPid) throws Exception {
        int[] pid = new int[1];
        try (Connection admin = DriverManager.getConnection(jdbcUrl, superuser, superuserPassword);
             PreparedStatement backend = admin.prepareStatement(
                     "select pid from pg_stat_activity where application_name = ? and pid <> ?")) {
            backend.setString(1, OutcomeNotices.APPLICATION_NAME);
            backend.setInt(2, notPid);
            await().atMost(WAIT).until(() -> {
                try (ResultSet rows = backend.executeQuery()) {
                    if (!rows.next()) {
                        return false;
                    }
                    pid[0] = rows.getInt(1);
                }
                return metrics.get("steergate.gateway.outcome.notices.listening").gauge().value() == 1.0;
            });
        }
        assertTrue(pid[0] > 0);
        return pid[0];
    }

    private double wokeCount() {
        return metrics.get("steergate.gateway.outcome.notices.woke").counter().count();
    }
}
