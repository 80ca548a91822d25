package io.steergate.bench;

import io.agroal.api.AgroalDataSource;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.steergate.testing.SteerGateTestProfile;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

/**
 * What one one-row insert transaction costs through each layer the gateway's transactions go through, on the test
 * profile's durable embedded PostgreSQL (fsync and synchronous commit on): plain JDBC (autocommit, then an explicit
 * commit), a pooled Agroal connection, a JTA transaction around pooled JDBC, a JTA transaction around Hibernate, and
 * JTA with nothing or a {@code select 1} inside. Prints p50, p90 and p99 of the second of two passes. A benchmark run
 * on demand, not part of the suite (the name does not match surefire's test patterns):
 * {@code ./mvnw -B -o test -Dtest=TransactionCostQuarkusBench -Dbench.rounds=1500}.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class TransactionCostQuarkusBench {

    private static final String INSERT = "insert into job_attempts (request_id, attempts, updated_at) values (?, 1, now())";

    @Inject
    EntityManager entities;

    @Inject
    AgroalDataSource pool;

    @Test
    void measure() throws Exception {
        int rounds = Integer.getInteger("bench.rounds", 2000);
        Connection own = unpooledConnection();
        Connection ownTx = unpooledConnection();
        ownTx.setAutoCommit(false);
        Map<String, Step> cases = new LinkedHashMap<>();
        cases.put("jdbc autocommit", () -> insert(own));
        cases.put("jdbc begin+insert+commit", () -> {
            insert(ownTx);
            ownTx.commit();
        });
        cases.put("agroal autocommit", this::pooledInsert);
        cases.put("jta + agroal jdbc", () -> QuarkusTransaction.requiringNew().run(() -> {
            try {
                pooledInsert();
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }));
        cases.put("jta + hibernate native", () -> QuarkusTransaction.requiringNew().run(() -> entities
                .createNativeQuery(INSERT)
                .setParameter(1, id()).executeUpdate()));
        cases.put("jta empty", () -> QuarkusTransaction.requiringNew().run(() -> { }));
        cases.put("jta + hibernate select 1", () -> QuarkusTransaction.requiringNew().run(() -> entities
                .createNativeQuery("select 1").getSingleResult()));
        for (int warm = 0; warm < 2; warm++) {
            Map<String, long[]> times = new LinkedHashMap<>();
            cases.keySet().forEach(k -> times.put(k, new long[rounds]));
            for (int i = 0; i < rounds; i++) {
                for (var e : cases.entrySet()) {
                    long t0 = System.nanoTime();
                    e.getValue().run();
                    times.get(e.getKey())[i] = System.nanoTime() - t0;
                }
            }
            if (warm == 1) {
                for (var e : times.entrySet()) {
                    long[] t = e.getValue();
                    Arrays.sort(t);
                    System.out.printf("[tx-cost] %-28s p50 %6.3f ms  p90 %6.3f ms  p99 %6.3f ms%n", e.getKey(),
                            t[t.length / 2] / 1e6, t[t.length * 9 / 10] / 1e6, t[t.length * 99 / 100] / 1e6);
                }
            }
        }
        own.close();
        ownTx.close();
    }

    private static Connection unpooledConnection() throws SQLException {
        var config = ConfigProvider.getConfig();
        return DriverManager.getConnection(config.getValue("quarkus.datasource.jdbc.url", String.class),
                config.getValue("quarkus.datasource.username", String.class),
                config.getValue("quarkus.datasource.password", String.class));
    }

    private void pooledInsert() throws SQLException {
        try (Connection c = pool.getConnection()) {
            insert(c);
        }
    }

    private static void insert(Connection connection) throws SQLException {
        try (PreparedStatement p = connection.prepareStatement(INSERT)) {
            p.setString(1, id());
            p.executeUpdate();
        }
    }

    private static String id() {
        return "tx-cost-" + UUID.randomUUID();
    }

    @FunctionalInterface
    interface Step {
        void run() throws Exception;
    }
}
