package io.steergate.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.testing.EmbeddedPostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real migrations on a real PostgreSQL with the two roles: records written before V9 get a chain that
 * {@link AuditChain} accepts (the migration's SQL and the Java canonical form agree), and the application's role is
 * refused UPDATE, DELETE and TRUNCATE on the audit and review tables by PostgreSQL itself, while tables of later
 * migrations give it ordinary DML by default.
 */
class AuditDatabaseRolesTest {

    /** PostgreSQL's insufficient_privilege: refused by the privilege system, not by V1's triggers (P0001). */
    static final String INSUFFICIENT_PRIVILEGE = "42501";

    static EmbeddedPostgresServer postgres;
    static long reviewedId;

    @BeforeAll
    static void migrateWithRecordsWrittenBeforeTheChain() throws SQLException {
        postgres = new EmbeddedPostgresServer().start();
        flyway("8").migrate();
        try (Connection owner = owner(); Statement s = owner.createStatement()) {
            s.execute("""
                    insert into audit_records (request_id, tenant, status, model_name, model_fingerprint, policy_id,
                        policy_version, applied_json, scores_json, decision_trace_json, output_text, error_code,
                        error_message, queue_ms, generate_ms, total_ms, recorded_at) values
                    ('old-1', 'acme', 'COMPLETED', 'stories260K', 'fp', 'default', 'v1', '[]', '{"meanness":0.0}', '["r"]',
                        'Once upon a time ü 🙂', null, null, 1, 20, 22, '2025-06-01T10:00:00.123456Z'),
                    ('old-2', null, 'REJECTED', null, null, null, null, '[]', '{}', null, null, 'INVALID_REQUEST',
                        'tenant: must be ...', null, null, 0, '2025-06-01T10:00:01Z'),
                    ('old-3', 'acme', 'FAILED', null, null, 'default', 'v1', '[]', '{}', null, '', 'GENERATION_FAILED',
                        'boom', 0, 0, 0, '2025-06-01T10:00:02.5Z'),
                    ('old-4', 'kids-co', 'COMPLETED', 'stories260K', 'fp', 'kids', 'v2', '[{"intervention":"kindness"}]',
                        '{}', null, 'A kind text', null, null, 2, 30, 33, '2025-06-01T10:00:03Z')""");
            try (ResultSet rows = s.executeQuery("select id from audit_records where request_id = 'old-1'")) {
                rows.next();
                reviewedId = rows.getLong(1);
            }
            s.execute("insert into review_verdicts (audit_id, verdict, reviewer, created_at) values (" + reviewedId
                    + ", 'ok', 'rita', now())");
        }
        flyway(null).migrate();
    }

    @AfterAll
    static void stop() {
        postgres.close();
    }

    static Flyway flyway(String target) {
        var config = Flyway.configure()
                .dataSource(postgres.jdbcUrl(), postgres.ownerUsername(), postgres.ownerUsername())
                .placeholders(Map.of("app_role", postgres.appUsername()));
        if (target != null) {
            config.target(target);
        }
        return config.load();
    }

    static Connection owner() throws SQLException {
        return DriverManager.getConnection(postgres.jdbcUrl(), postgres.ownerUsername(), postgres.ownerUsername());
    }

    static Connection app() throws SQLException {
        return DriverManager.getConnection(postgres.jdbcUrl(), postgres.appUsername(), postgres.appUsername());
    }

    static List<AuditEntry> chain(Connection connection, String chainKey) throws SQLException {
        List<AuditEntry> entries = new ArrayList<>();
        try (PreparedStatement select = connection.prepareStatement(
                "select * from audit_records where coalesce(tenant, '') = ? order by chain_seq")) {
            select.setString(1, chainKey);
            try (ResultSet r = select.executeQuery()) {
                while (r.next()) {
                    entries.add(new AuditEntry(r.getLong("id"), r.getString("tenant"), r.getLong("chain_seq"),
                            r.getString("request_id"), AuditChain.recordedAt(r.getObject("recorded_at",
                                    java.time.OffsetDateTime.class).toInstant()), r.getString("status"),
                            r.getString("model_name"), r.getString("model_fingerprint"), r.getString("policy_id"),
                            r.getString("policy_version"), r.getString("applied_json"), r.getString("scores_json"),
                            r.getString("decision_trace_json"), r.getString("output_text"), r.getString("error_code"),
                            r.getString("error_message"), (Long) r.getObject("queue_ms"), (Long) r.getObject("generate_ms"),
                            (Long) r.getObject("total_ms"), r.getString("hash")));
                }
            }
        }
        return entries;
    }

    static AuditChain.Check check(Connection connection, String chainKey) throws SQLException {
        AuditChain.Walker walker = new AuditChain.Walker(chainKey.isEmpty() ? null : chainKey);
        chain(connection, chainKey).forEach(walker::accept);
        try (PreparedStatement head = connection.prepareStatement(
                "select records, last_id, last_hash from audit_chain_heads where tenant = ?")) {
            head.setString(1, chainKey);
            try (ResultSet r = head.executeQuery()) {
                assertTrue(r.next(), "no chain head for '" + chainKey + "'");
                return walker.finish(r.getLong(1), r.getLong(2), r.getString(3));
            }
        }
    }

    @Test
    void recordsWrittenBeforeV9GetAChainTheJavaCheckAccepts() throws SQLException {
        try (Connection app = app()) {
            AuditChain.Check acme = check(app, "acme");
            assertTrue(acme.ok(), acme.reason());
            assertEquals(2, acme.records());
            AuditChain.Check none = check(app, "");
            assertTrue(none.ok(), none.reason());
            assertEquals(1, none.records());
            AuditChain.Check kids = check(app, "kids-co");
            assertTrue(kids.ok(), kids.reason());
        }
    }

    @Test
    void theApplicationRoleIsRefusedUpdateDeleteAndTruncateOnTheAuditAndReviewTables() throws SQLException {
        try (Connection app = app(); Statement s = app.createStatement()) {
            for (String sql : List.of(
                    "update audit_records set output_text = 'kinder' where id = " + reviewedId,
                    "delete from audit_records where id = " + reviewedId,
                    "truncate audit_records cascade",
                    "update review_verdicts set verdict = 'violation' where audit_id = " + reviewedId,
                    "delete from review_verdicts where audit_id = " + reviewedId,
                    "truncate review_verdicts")) {
                SQLException refused = assertThrows(SQLException.class, () -> s.execute(sql), sql);
                assertEquals(INSUFFICIENT_PRIVILEGE, refused.getSQLState(), sql + ": " + refused.getMessage());
            }
            // what it may do: read, and append a verdict
            s.execute("insert into review_verdicts (audit_id, verdict, reviewer, created_at) values (" + reviewedId
                    + ", 'unsure', 'sam', now())");
            try (ResultSet rows = s.executeQuery("select count(*) from review_verdicts where audit_id = " + reviewedId)) {
                rows.next();
                assertEquals(2, rows.getLong(1));
            }
        }
    }

    @Test
    void theApplicationRoleCannotRewriteTheMigrationHistoryOrCreateTables() throws SQLException {
        try (Connection app = app(); Statement s = app.createStatement()) {
            SQLException history = assertThrows(SQLException.class, () -> s.execute("delete from flyway_schema_history"));
            assertEquals(INSUFFICIENT_PRIVILEGE, history.getSQLState(), history.getMessage());
            SQLException create = assertThrows(SQLException.class, () -> s.execute("create table sneaky (id int)"));
            assertEquals(INSUFFICIENT_PRIVILEGE, create.getSQLState(), create.getMessage());
        }
    }

    @Test
    void aTableOfALaterMigrationGivesTheApplicationOrdinaryDml() throws SQLException {
        try (Connection owner = owner(); Statement s = owner.createStatement()) {
            s.execute("create table later_migration_probe (id bigint generated by default as identity primary key, v text)");
        }
        try (Connection app = app(); Statement s = app.createStatement()) {
            s.execute("insert into later_migration_probe (v) values ('a')");
            assertEquals(1, s.executeUpdate("update later_migration_probe set v = 'b'"));
            assertEquals(1, s.executeUpdate("delete from later_migration_probe"));
        } finally {
            try (Connection owner = owner(); Statement s = owner.createStatement()) {
                s.execute("drop table later_migration_probe");
            }
        }
    }

    /** A record as the application would append it for {@code tenant}. */
    static AuditLog.Draft draft(String tenant, String output, Instant recordedAt) {
        return (id, seq) -> new AuditEntry(id, tenant, seq, "req-" + id, AuditChain.recordedAt(recordedAt), "COMPLETED",
                "stories260K", "fp", "default", "v1", "[]", "{}", null, output, null, null, 1L, 2L, 3L, null);
    }

    @Test
    void appendersOnSeveralConnectionsAtOnceKeepOneChainPerTenant() throws Exception {
        int threads = 4;
        int each = 25;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    try (Connection app = app()) {
                        app.setAutoCommit(false);
                        for (int i = 0; i < each; i++) {
                            // two tenants interleaved: one chain each, whatever the commit order
                            String tenant = i % 2 == 0 ? "race-a" : "race-b";
                            Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
                            AuditLog.append(app, tenant, draft(tenant, "thread " + thread + " record " + i, now));
                            app.commit();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        try (Connection app = app()) {
            AuditChain.Check a = check(app, "race-a");
            AuditChain.Check b = check(app, "race-b");
            assertTrue(a.ok(), a.reason());
            assertTrue(b.ok(), b.reason());
            assertEquals(threads * 13, a.records());
            assertEquals(threads * 12, b.records());
        }
    }
}
