package io.steergate.bench;

import io.steergate.audit.AuditChain;
import io.steergate.audit.AuditEntry;
import io.steergate.audit.AuditLog;
import io.steergate.testing.EmbeddedPostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.flywaydb.core.Flyway;

/**
 * What the hash chain costs an audit write: T threads, each on its own connection as the application's role, each
 * writing N records in a transaction of its own (commit per record, PostgreSQL durable: fsync and synchronous commit
 * on). Three cases: a plain insert of the same row (no head lock, a made-up chain position), the chained append
 * ({@link AuditLog#append}) with one tenant per thread, and the chained append with every thread on one tenant (its
 * appends wait for each other's commits). Latency is one append plus its commit. A main, not a test:
 * args threads, records per thread.
 */
public final class AuditAppendBench {

    private static final String PLAIN_INSERT = """
            insert into audit_records (tenant, chain_seq, request_id, recorded_at, status, model_name, model_fingerprint,
                policy_id, policy_version, applied_json, scores_json, output_text, queue_ms, generate_ms, total_ms, hash)
            values (?, ?, ?, ?, 'COMPLETED', 'stories260K', 'fp', 'default', 'v1', '[]', '{"meanness":0.0}', ?, 1, 20, 22, ?)""";
    private static final AtomicLong PLAIN_SEQ = new AtomicLong();

    private interface Write {
        void run(Connection connection, int thread, int i) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int records = args.length > 1 ? Integer.parseInt(args[1]) : 250;
        try (EmbeddedPostgresServer postgres = new EmbeddedPostgresServer().start()) {
            Flyway.configure().dataSource(postgres.jdbcUrl(), postgres.ownerUsername(), postgres.ownerUsername())
                    .placeholders(Map.of("app_role", postgres.appUsername())).load().migrate();
            String text = "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun.";
            Write plain = (c, t, i) -> {
                try (PreparedStatement insert = c.prepareStatement(PLAIN_INSERT)) {
                    insert.setString(1, "plain");
                    insert.setLong(2, PLAIN_SEQ.incrementAndGet());
                    insert.setString(3, "plain-" + t + "-" + i);
                    insert.setObject(4, OffsetDateTime.now(ZoneOffset.UTC));
                    insert.setString(5, text);
                    insert.setString(6, AuditChain.GENESIS);
                    insert.executeUpdate();
                }
            };
            System.out.printf(Locale.ROOT, "%d threads x %d records, commit per record%n", threads, records);
            System.out.println("| case | appends/s | p50 ms | p99 ms |");
            System.out.println("| --- | --- | --- | --- |");
            // warm-up: connections, plans, the WAL
            run(postgres, threads, records / 5, "warm-up", plain, false);
            run(postgres, threads, records, "plain insert, no chain", plain, true);
            run(postgres, threads, records, "chained append, a tenant per thread",
                    (c, t, i) -> chained(c, "tenant-" + t, text), true);
            run(postgres, threads, records, "chained append, one tenant for all threads",
                    (c, t, i) -> chained(c, "one-tenant", text), true);
        }
    }

    private static void chained(Connection connection, String tenant, String text) throws Exception {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
        AuditLog.append(connection, tenant, (id, seq) -> new AuditEntry(id, tenant, seq, "req-" + id,
                AuditChain.recordedAt(now), "COMPLETED", "stories260K", "fp", "default", "v1", "[]", "{\"meanness\":0.0}",
                null, text, null, null, 1L, 20L, 22L, null));
    }

    private static void run(EmbeddedPostgresServer postgres, int threads, int records, String name, Write write,
            boolean print) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    try (Connection c = DriverManager.getConnection(postgres.jdbcUrl(), postgres.appUsername(), postgres.appUsername())) {
                        c.setAutoCommit(false);
                        for (int i = 0; i < records; i++) {
                            long t0 = System.nanoTime();
                            write.run(c, thread, i);
                            c.commit();
                            latencies.add(System.nanoTime() - t0);
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
        double seconds = (System.nanoTime() - start) / 1e9;
        if (print) {
            List<Long> sorted = new ArrayList<>(latencies);
            Collections.sort(sorted);
            System.out.printf(Locale.ROOT, "| %s | %.0f | %.1f | %.1f |%n", name, sorted.size() / seconds,
                    sorted.get(sorted.size() / 2) / 1e6, sorted.get((int) (sorted.size() * 0.99)) / 1e6);
        }
    }
}
