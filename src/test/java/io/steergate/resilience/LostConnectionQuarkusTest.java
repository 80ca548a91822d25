package io.steergate.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.steergate.testing.SteerGateTestProfile;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.UUID;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

/**
 * What the application's transactions throw when PostgreSQL goes away under them, on the real transaction manager and
 * database: the backend of a transaction's connection is terminated, as a database crash would end it. Every job
 * loop, relay and consumer decides from {@link Failures#isTransient} whether to wait the outage out or to treat the
 * failure as a surprise (a job loop then rewinds and counts an attempt against every job in hand).
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class LostConnectionQuarkusTest {

    @Inject
    EntityManager entities;

    @Test
    void aTransactionWhoseConnectionDiesBeforeItsCommitFailsTransientlyAndWritesNothing() {
        String id = "lost-connection-" + UUID.randomUUID();
        RuntimeException failure = assertThrows(RuntimeException.class, () -> QuarkusTransaction.requiringNew().run(() -> {
            entities.createNativeQuery("insert into job_attempts (request_id, attempts, updated_at) values (:id, 1, now())")
                    .setParameter("id", id).executeUpdate();
            int backend = ((Number) entities.createNativeQuery("select pg_backend_pid()").getSingleResult()).intValue();
            terminate(backend);
        }));

        assertTrue(Failures.isTransient(failure), "a lost connection at commit is an outage, not a bug: " + describe(failure));
        assertTrue(Failures.reason(failure).contains("terminating connection"), "the reason says what happened: "
                + Failures.reason(failure));
        long written = ((Number) QuarkusTransaction.requiringNew().call(() -> entities
                .createNativeQuery("select count(*) from job_attempts where request_id = :id").setParameter("id", id)
                .getSingleResult())).longValue();
        assertEquals(0, written, "the transaction did not commit");
    }

    /** Ends a backend from a connection of its own, outside the application's pool and transaction. */
    private static void terminate(int backend) {
        var config = ConfigProvider.getConfig();
        try (Connection admin = DriverManager.getConnection(config.getValue("quarkus.datasource.jdbc.url", String.class),
                config.getValue("quarkus.datasource.username", String.class),
                config.getValue("quarkus.datasource.password", String.class));
             PreparedStatement kill = admin.prepareStatement("select pg_terminate_backend(?)")) {
            kill.setInt(1, backend);
            kill.execute();
        } catch (Exception e) {
            throw new IllegalStateException("terminating backend " + backend, e);
        }
    }

    private static String describe(Throwable failure) {
        StringBuilder chain = new StringBuilder();
        for (Throwable e = failure; e != null; e = e.getCause()) {
            chain.append(e.getClass().getName()).append(": ").append(e.getMessage()).append(" | ");
            for (Throwable suppressed : e.getSuppressed()) {
                chain.append("suppressed ").append(suppressed).append(" | ");
            }
        }
        return chain.toString();
    }
}
