package io.steergate.audit;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.matchesPattern;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.steergate.cli.SteerCli;
import io.steergate.resilience.Failures;
import io.steergate.testing.DatabaseOutage;
import io.steergate.testing.SteerGateTestProfile;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.ws.rs.core.StreamingOutput;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The audit evidence of the running application: records written through the real pipeline chain per tenant, the
 * application's database role cannot change them, a superuser's change or deletion behind its back is found and
 * named by GET /v1/audit/verify, and an export verifies offline with the command line.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class AuditEvidenceQuarkusTest {

    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String jdbcUrl;

    @ConfigProperty(name = "steergate.test.postgres.superuser")
    String superuser;

    @ConfigProperty(name = "steergate.test.postgres.superuser-password")
    String superuserPassword;

    @Inject
    EntityManager em;

    static String tenant(String what) {
        return "ev-" + what + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** One generation over HTTP; its audit record is committed with its outcome. */
    static void generate(String tenant) {
        String id = tenant + "-" + UUID.randomUUID();
        given().contentType("application/json")
                .body("{\"id\":\"" + id + "\",\"tenant\":\"" + tenant + "\",\"prompt\":\"Once upon a time\",\"maxTokens\":3,\"seed\":1}")
                .when().post("/v1/generations").then().statusCode(200).body("status", equalTo("COMPLETED"));
    }

    static JsonPath verify(String tenant) {
        return given().queryParam("tenant", tenant).when().get("/v1/audit/verify").then().statusCode(200).extract().jsonPath();
    }

    /** The ids of a tenant's records in chain order. */
    List<Long> ids(String tenant) {
        return QuarkusTransaction.requiringNew().call(() -> em.createNativeQuery(
                        "select id from audit_records where tenant = :t order by chain_seq", Long.class)
                .setParameter("t", tenant).getResultList());
    }

    /** As a superuser, bypassing V1's trigger: what someone with the database's keys could do. */
    void behindTheApplicationsBack(String sql) throws SQLException {
        try (Connection connection = DriverManager.getConnection(jdbcUrl, superuser, superuserPassword);
             Statement statement = connection.createStatement()) {
            statement.execute("set session_replication_role = replica");
            statement.execute(sql);
        }
    }

    @Inject
    AuditEvidence evidence;

    /**
     * Exports whose clients have not read them yet hold their walks; past steergate.audit.max-concurrent-walks (2 in
     * tests, as shipped) a third export or a verify is a 429, and a walk that finishes frees its place.
     */
    @Test
    void chainWalksAreBoundedSoExportsThatAreNotReadCannotTakeThePool() throws IOException {
        String tenant = tenant("walks");
        generate(tenant);
        StreamingOutput first = evidence.export(tenant);
        StreamingOutput second = evidence.export(tenant);
        try {
            given().queryParam("tenant", tenant).get("/v1/audit/export").then().statusCode(429)
                    .body("code", equalTo("UNAVAILABLE")).body("message", containsString("steergate.audit.max-concurrent-walks"));
            given().queryParam("tenant", tenant).get("/v1/audit/verify").then().statusCode(429);
        } finally {
            first.write(OutputStream.nullOutputStream());
        }
        assertTrue(verify(tenant).getBoolean("ok"), "a place is free again");
        ByteArrayOutputStream bundle = new ByteArrayOutputStream();
        second.write(bundle);
        assertTrue(bundle.toString(StandardCharsets.UTF_8).contains(tenant), "the held export still writes its bundle");
        given().queryParam("tenant", tenant).get("/v1/audit/export").then().statusCode(200);
    }

    /**
     * A HEAD of the export (JAX-RS answers it with the GET method, without writing the body) must not keep a walk's
     * place: otherwise two HEADs would leave every later export and verify a 429 until a restart.
     */
    @Test
    void exportsThatAreNeverWrittenGiveTheirPlaceBack() {
        String tenant = tenant("head");
        generate(tenant);
        for (int i = 0; i < 3; i++) {
            given().queryParam("tenant", tenant).head("/v1/audit/export").then().statusCode(200);
        }
        assertTrue(verify(tenant).getBoolean("ok"), "a verify still finds a free place");
        given().queryParam("tenant", tenant).get("/v1/audit/export").then().statusCode(200);
        given().queryParam("tenant", tenant).get("/v1/audit/export").then().statusCode(200);
    }

    /**
     * An export reads its records a page at a time and writes them to its client between transactions, so a client that
     * reads slowly holds no pooled connection (before, the whole walk ran in one snapshot: every write held one).
     */
    @Test
    void anExportWritesToItsClientOutsideAnyTransaction() throws IOException {
        String tenant = tenant("slow-client");
        generate(tenant);
        generate(tenant);
        List<Boolean> inTransaction = new ArrayList<>();
        ByteArrayOutputStream bundle = new ByteArrayOutputStream();
        evidence.export(tenant).write(new OutputStream() {
            @Override
            public void write(int b) {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                inTransaction.add(QuarkusTransaction.isActive());
                bundle.write(b, off, len);
            }
        });
        assertEquals(4, inTransaction.size(), "header, two records, signature: " + bundle);
        assertEquals(List.of(false, false, false, false), inTransaction);
        for (Long id : ids(tenant)) {
            assertTrue(bundle.toString(StandardCharsets.UTF_8).contains("\"id\":" + id + ","), "record " + id + ": " + bundle);
        }
    }

    /**
     * PostgreSQL lost in the middle of an export: the bundle ends where the page read failed, without its signature line
     * (which the offline check names), the walk's place is given back, and once the database is back a new export is
     * whole. Nothing waits out the outage: a cut bundle is refused by the check, never mistaken for a whole one.
     */
    @Test
    void anExportCutByADatabaseOutageEndsUnsignedAndTheNextOneIsWhole() throws Exception {
        String tenant = tenant("outage");
        generate(tenant);
        DatabaseOutage database = DatabaseOutage.ofTestApplication();
        AtomicBoolean away = new AtomicBoolean();
        List<CompletableFuture<Void>> outage = new ArrayList<>();
        ByteArrayOutputStream bundle = new ByteArrayOutputStream();
        StreamingOutput export = evidence.export(tenant);
        try {
            Exception cut = assertThrows(Exception.class, () -> export.write(new OutputStream() {
                @Override
                public void write(int b) {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    bundle.write(b, off, len);
                    if (outage.isEmpty()) {
                        // the header is written: the records' page is read next, with the database away
                        outage.add(CompletableFuture.runAsync(() -> database.stage(Duration.ofSeconds(3), away)));
                        await().atMost(Duration.ofSeconds(10)).untilTrue(away);
                    }
                }
            }));
            assertTrue(Failures.isTransient(cut), "an outage, not a broken chain: " + cut);
        } finally {
            outage.forEach(CompletableFuture::join);
        }
        String[] lines = bundle.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(1, lines.length, "the header only: " + bundle);
        assertFalse(bundle.toString(StandardCharsets.UTF_8).contains("\"signature\""), bundle.toString());

        await().atMost(Duration.ofSeconds(30)).until(() -> given().queryParam("tenant", tenant).get("/v1/audit/verify").statusCode() == 200);
        for (int i = 0; i < 3; i++) {
            // every walk's place is free again (max-concurrent-walks is 2): the cut export gave its place back
            assertTrue(verify(tenant).getBoolean("ok"));
        }
        String whole = given().queryParam("tenant", tenant).get("/v1/audit/export").then().statusCode(200).extract().asString();
        assertEquals(3, whole.split("\n").length, "header, the record, signature: " + whole);
    }

    @Test
    void theApplicationRunsAsTheRoleThatMayOnlyInsertAuditRecords() {
        Object[] row = QuarkusTransaction.requiringNew().call(() -> (Object[]) em.createNativeQuery(
                "select current_user, has_table_privilege('audit_records', 'UPDATE'), has_table_privilege('audit_records', 'DELETE'),"
                        + " has_table_privilege('review_verdicts', 'TRUNCATE'), has_table_privilege('audit_records', 'INSERT')")
                .getSingleResult());
        assertEquals(List.of("steergate_app", false, false, false, true), Arrays.asList(row));
    }

    @Test
    void concurrentRequestsOfOneTenantMakeOneUnbrokenChain() throws Exception {
        String tenant = tenant("concurrent");
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<?>> sent = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                sent.add(pool.submit(() -> generate(tenant)));
            }
            for (Future<?> f : sent) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        JsonPath check = verify(tenant);
        assertTrue(check.getBoolean("ok"), check.prettify());
        assertEquals(6, check.getInt("records"));
        assertEquals(tenant, check.getString("tenant"));
    }

    @Test
    void aRecordChangedDirectlyInPostgresqlIsNamed() throws SQLException {
        String tenant = tenant("altered");
        for (int i = 0; i < 3; i++) {
            generate(tenant);
        }
        assertTrue(verify(tenant).getBoolean("ok"));
        long second = ids(tenant).get(1);
        given().when().get("/v1/audit/" + second).then().statusCode(200)
                .body("chainSeq", equalTo(2)).body("hash", matchesPattern("[0-9a-f]{64}"));
        behindTheApplicationsBack("update audit_records set output_text = 'a kinder story' where id = " + second);
        JsonPath check = verify(tenant);
        assertFalse(check.getBoolean("ok"));
        assertEquals(second, check.getLong("firstBrokenId"));
        assertTrue(check.getString("reason").contains("does not match its hash"), check.getString("reason"));
        assertEquals(3, check.getInt("records"));
    }

    /** Every column of audit_records but its id and chain position, as a list for an insert of a copy. */
    String copiedColumns() {
        return QuarkusTransaction.requiringNew().call(() -> (String) em.createNativeQuery("select string_agg(column_name, ', ')"
                + " from information_schema.columns where table_name = 'audit_records' and column_name not in ('id', 'chain_seq')")
                .getSingleResult());
    }

    /**
     * The application's own role may insert audit records (it writes them), so one inserted at a chain position below
     * 1 (which no walk reads, while the audit list, review and triggers show it) must be refused. Before V23 the
     * insert went through and verify said ok.
     */
    @Test
    void theApplicationsRoleCannotAddARecordOutsideTheChain() {
        String tenant = tenant("outside");
        generate(tenant);
        long id = ids(tenant).get(0);
        String columns = copiedColumns();
        Exception refused = assertThrows(Exception.class, () -> QuarkusTransaction.requiringNew().run(() -> em.createNativeQuery(
                "insert into audit_records (" + columns + ", chain_seq) select " + columns + ", 0 from audit_records where id = "
                        + id).executeUpdate()));
        assertTrue(Failures.rootMessage(refused).contains("audit_records_chain_position"), Failures.rootMessage(refused));
        assertEquals(List.of(id), ids(tenant));
    }

    /**
     * A row outside the chain that V23 did not refuse (it was there before; NOT VALID checks only new rows) is named by
     * verify, which compares the records it walked with those the table holds, and no export is signed over it.
     */
    @Test
    void aRecordOutsideTheChainFromBeforeV23IsNamedByVerifyAndStopsExports() throws SQLException {
        String tenant = tenant("before-v23");
        generate(tenant);
        generate(tenant);
        long first = ids(tenant).get(0);
        String columns = copiedColumns();
        behindTheApplicationsBack("alter table audit_records drop constraint if exists audit_records_chain_position; "
                + "insert into audit_records (" + columns + ", chain_seq) select " + columns + ", 0 from audit_records where id = "
                + first + "; alter table audit_records add constraint audit_records_chain_position check (chain_seq >= 1) not valid");
        long outside = QuarkusTransaction.requiringNew().call(() -> ((Number) em.createNativeQuery(
                "select id from audit_records where tenant = :t and chain_seq = 0").setParameter("t", tenant).getSingleResult()).longValue());

        JsonPath check = verify(tenant);
        assertFalse(check.getBoolean("ok"), "verify must see the record no walk reads");
        assertEquals(outside, check.getLong("firstBrokenId"));
        assertTrue(check.getString("reason").contains("outside its positions 1-2"), check.getString("reason"));
        given().queryParam("tenant", tenant).get("/v1/audit/export").then().statusCode(409)
                .body("message", containsString("head counts 2 records but the table holds 3"));
    }

    /**
     * The application's role may update the chain's head (it advances it). A head moved back made an export that hid
     * the newest records and still verified offline, dated now; the export is refused while head and table disagree,
     * and whole again once they agree.
     */
    @Test
    void anExportIsRefusedWhileTheChainsHeadDisagreesWithTheTable() {
        String tenant = tenant("head-back");
        for (int i = 0; i < 3; i++) {
            generate(tenant);
        }
        Object[] head = QuarkusTransaction.requiringNew().call(() -> (Object[]) em.createNativeQuery(
                "select records, last_id, last_hash from audit_chain_heads where tenant = :t").setParameter("t", tenant).getSingleResult());
        long second = ids(tenant).get(1);
        QuarkusTransaction.requiringNew().run(() -> em.createNativeQuery("update audit_chain_heads set records = 2, last_id = a.id,"
                + " last_hash = a.hash from audit_records a where a.id = :id and audit_chain_heads.tenant = :t")
                .setParameter("id", second).setParameter("t", tenant).executeUpdate());

        given().queryParam("tenant", tenant).get("/v1/audit/export").then().statusCode(409).body("code", equalTo("CONFLICT"))
                .body("message", containsString("head counts 2 records but the table holds 3"));

        QuarkusTransaction.requiringNew().run(() -> em.createNativeQuery("update audit_chain_heads set records = :r, last_id = :i,"
                + " last_hash = :h where tenant = :t").setParameter("r", head[0]).setParameter("i", head[1])
                .setParameter("h", head[2]).setParameter("t", tenant).executeUpdate());
        String bundle = given().queryParam("tenant", tenant).get("/v1/audit/export").then().statusCode(200).extract().asString();
        assertTrue(bundle.contains("\"records\":3"), bundle.lines().findFirst().orElse(""));
    }

    @Test
    void deletedRecordsAreDetectedInTheMiddleAndAtTheEnd() throws SQLException {
        String middle = tenant("del-middle");
        String end = tenant("del-end");
        for (int i = 0; i < 3; i++) {
            generate(middle);
            generate(end);
        }
        List<Long> ids = ids(middle);
        behindTheApplicationsBack("delete from audit_records where id = " + ids.get(1));
        JsonPath check = verify(middle);
        assertFalse(check.getBoolean("ok"));
        assertEquals(ids.get(2), check.getLong("firstBrokenId"));
        assertTrue(check.getString("reason").contains("position 2 missing"), check.getString("reason"));

        long last = ids(end).get(2);
        behindTheApplicationsBack("delete from audit_records where id = " + last);
        JsonPath atEnd = verify(end);
        assertFalse(atEnd.getBoolean("ok"));
        assertEquals(last, atEnd.getLong("firstBrokenId"));
        assertTrue(atEnd.getString("reason").contains("missing at the end"), atEnd.getString("reason"));
    }

    @Test
    void anExportVerifiesOfflineAndATamperedOneIsNamedByLine(@TempDir Path dir) throws Exception {
        String tenant = tenant("export");
        for (int i = 0; i < 3; i++) {
            generate(tenant);
        }
        byte[] bundle = given().queryParam("tenant", tenant).when().get("/v1/audit/export").then().statusCode(200)
                .header("Content-Disposition", containsString("audit-" + tenant + ".jsonl")).extract().asByteArray();
        String pem = given().when().get("/v1/audit/public-key").then().statusCode(200)
                .body(containsString("BEGIN PUBLIC KEY")).extract().asString();
        Path key = Files.writeString(dir.resolve("audit.pub"), pem);
        Path good = Files.write(dir.resolve("good.jsonl"), bundle);
        String[] ok = verifyExport(good, key);
        assertEquals("0", ok[0], ok[1]);
        assertTrue(ok[1].contains("3 records"), ok[1]);

        List<String> lines = new ArrayList<>(Arrays.asList(new String(bundle, StandardCharsets.UTF_8).split("\n")));
        assertEquals(5, lines.size(), "header, 3 records, signature");
        long secondId = ids(tenant).get(1);
        lines.set(2, lines.get(2).replace("\"status\":\"COMPLETED\"", "\"status\":\"REJECTED\""));
        Path bad = Files.writeString(dir.resolve("bad.jsonl"), String.join("\n", lines) + "\n");
        String[] refused = verifyExport(bad, key);
        assertEquals("1", refused[0], refused[1]);
        assertTrue(refused[1].contains("chain: FAILED: line 3: record " + secondId), refused[1]);
        assertTrue(refused[1].contains("signature: FAILED"), refused[1]);
    }

    @Test
    void verifyAndExportNameAMissingOrMalformedTenant() {
        given().when().get("/v1/audit/verify").then().statusCode(400).body("message", containsString("tenant"));
        given().queryParam("tenant", "Not A Tenant").when().get("/v1/audit/export").then().statusCode(400)
                .body("message", containsString("tenant"));
    }

    /** Exit code and stdout of `steer audit verify-export`. */
    static String[] verifyExport(Path bundle, Path key) {
        StringWriter out = new StringWriter();
        CommandLine cli = SteerCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(out, true));
        int code = cli.execute("audit", "verify-export", "--bundle", bundle.toString(), "--public-key", key.toString());
        return new String[] {String.valueOf(code), out.toString()};
    }
}
