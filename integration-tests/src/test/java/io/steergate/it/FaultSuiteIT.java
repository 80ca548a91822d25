package io.steergate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 7's fault suite, black box: the broker, PostgreSQL and the application each run as a process of their own,
 * and each scenario kills or stops one of them while at least 1,000 requests are in flight, then restarts only that
 * part. Afterwards every id must have a result, every copy of an id's result must be byte-identical, PostgreSQL must
 * hold exactly one generation row and one audit record per id, and every result must be COMPLETED (the requests are
 * all valid, so anything else is the fault's doing).
 *
 * <p>Each scenario starts its own application processes, so one scenario's damage cannot spill into the next; the
 * broker and PostgreSQL are shared and keep their data. Per scenario one line goes to stdout and to
 * target/fault-suite-results.txt: requests, the recovery time (from the part's return to the first result for an id
 * that had none), the drain time, the duplicates seen. System properties (for a developer's shorter run):
 * {@code steergate.it.faults.outage-s} (default 65: over a minute, as the contract asks), {@code steergate.it.faults.requests} (default 1050),
 * {@code steergate.it.faults.drain-timeout-s} (default 300), {@code steergate.it.faults.stall-timeout-s} (default 120).
 * Alone, against an already packaged application:
 * {@code ./mvnw -B test-compile failsafe:integration-test failsafe:verify -Dit.test=FaultSuiteIT -Dai.djl.offline=true}
 * (one scenario: {@code -Dit.test=FaultSuiteIT#applicationSigkilled}).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultSuiteIT {

    /** The fault comes once this many ids have a result: the rest, at least 1,000, are in flight. */
    private static final int RESULTS_BEFORE_FAULT = 20;
    private static final int REQUESTS = Integer.getInteger("steergate.it.faults.requests", 1_050);
    /** How long PostgreSQL (d) and the broker (e) stay down. */
    private static final Duration OUTAGE = Duration.ofSeconds(Long.getLong("steergate.it.faults.outage-s", 65));
    /** After the part's return, the longest wait for every id to be answered. */
    private static final Duration DRAIN_TIMEOUT =
            Duration.ofSeconds(Long.getLong("steergate.it.faults.drain-timeout-s", 300));
    /** After the part's return, waiting stops early when no new result came for this long: processing has stopped. */
    private static final Duration STALL_TIMEOUT =
            Duration.ofSeconds(Long.getLong("steergate.it.faults.stall-timeout-s", 120));
    private static final int MAX_TOKENS = 12;
    private static final Path RESULTS_FILE = Path.of("target", "fault-suite-results.txt");
    private static final String[] PROMPTS = {
        "Once upon a time", "One day, a little", "There was a little dog", "The sun was shining and",
        "Once upon a time, a girl", "Lily went to the park", "Tim had a red ball", "The cat sat on the"
    };

    private static ProcessStack stack;
    private final List<AppProcess> apps = new ArrayList<>();
    /** System.nanoTime() when this scenario began, before its applications started. */
    private long scenarioBegan;

    @BeforeAll
    static void startStack() throws IOException {
        Files.createDirectories(RESULTS_FILE.getParent());
        Files.writeString(RESULTS_FILE, "", StandardCharsets.UTF_8);
        Path logDir = Path.of(System.getProperty("steergate.it.log.dir", "target/it-logs"));
        stack = ProcessStack.start(Path.of("target", "fault-suite"), logDir);
    }

    @AfterAll
    static void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    /** A scenario that failed half-way may have left its part down; the next one starts on a whole stack. */
    @BeforeEach
    void wholeStack() {
        scenarioBegan = System.nanoTime();
        stack.ensureRunning();
    }

    @AfterEach
    void stopApplications() {
        apps.forEach(AppProcess::stop);
    }

    @Test
    @Order(1)
    void applicationSigkilled() {
        AppProcess app = start("fault-a-app", Map.of());
        runScenario("(a) application SIGKILL", "a", Duration.ZERO, () -> {
            app.kill();
            assertEquals(137, app.exitValue(), "the application must die by SIGKILL (128 + 9)");
        }, app::start);
    }

    @Test
    @Order(2)
    void workerOnlyProcessSigkilled() {
        AppProcess gateway = stack.app("fault-b-gateway", Map.of("STEERGATE_ROLE_WORKER", "false"));
        AppProcess worker = stack.app("fault-b-worker",
                Map.of("STEERGATE_ROLE_GATEWAY", "false", "STEERGATE_ROLE_TRAINER", "false"));
        apps.add(gateway);
        apps.add(worker);
        // side by side: each start mostly waits (class loading, Kafka, the model), and the suite's time is tight
        CompletableFuture<AppProcess> gatewayStarted = CompletableFuture.supplyAsync(gateway::start);
        worker.start();
        gatewayStarted.join();
        runScenario("(b) worker-only process SIGKILL", "b", Duration.ZERO, () -> {
            worker.kill();
            assertEquals(137, worker.exitValue(), "the worker must die by SIGKILL (128 + 9)");
        }, worker::start);
    }

    @Test
    @Order(3)
    void brokerSigkilledAndRestarted() {
        start("fault-c-app", Map.of());
        runScenario("(c) broker SIGKILL, restarted at once", "c", Duration.ZERO, () -> {
            stack.broker.kill();
            assertEquals(137, stack.broker.exitValue(), "the broker must die by SIGKILL (128 + 9)");
        }, stack.broker::start);
    }

    @Test
    @Order(4)
    void postgresSigkilledAndDownForTheOutage() throws IOException {
        // one request in ESCALATING_EVERY is of a tenant whose policy flags every output: escalations are in flight
        // when PostgreSQL goes
        AppProcess app = start("fault-d-app", Map.of("STEERGATE_POLICY_DIR", escalatingPolicies().toString()));
        List<HttpResponse<String>> duringOutage = new ArrayList<>();
        String prefix = runScenario("(d) PostgreSQL SIGKILL, down " + OUTAGE.toSeconds() + " s", "d",
                i -> i % ESCALATING_EVERY == 0 ? ESCALATING_TENANT : "acme", OUTAGE, () -> {
            stack.postgres.kill();
            pause(Duration.ofSeconds(5));
            duringOutage.add(http(app, "POST", "/v1/generations",
                    "{\"id\":\"fault-d-http-" + UUID.randomUUID() + "\",\"tenant\":\"acme\",\"prompt\":\"Once upon a time\",\"maxTokens\":4}"));
            duringOutage.add(http(app, "GET", app.managementUrl() + "/q/health/live", null));
            duringOutage.add(http(app, "GET", app.managementUrl() + "/q/health/ready", null));
        }, stack.postgres::start);

        // while PostgreSQL is away: the HTTP door answers 503 with Retry-After instead of holding the thread, the
        // process stays live (nothing to restart), and it is not ready
        assertEquals(503, duringOutage.get(0).statusCode(), duringOutage.get(0).body());
        assertEquals("5", duringOutage.get(0).headers().firstValue("Retry-After").orElse(null));
        assertTrue(duringOutage.get(0).body().contains("UNAVAILABLE"), duringOutage.get(0).body());
        assertEquals(200, duringOutage.get(1).statusCode(), "liveness during the outage: " + duringOutage.get(1).body());
        assertEquals(503, duringOutage.get(2).statusCode(), "readiness during the outage: " + duringOutage.get(2).body());
        checkEscalations(prefix);
    }

    /** A tenant of the fault suite's own whose policy (below) flags every output, through a ladder of two rungs. */
    private static final String ESCALATING_TENANT = "escalation-co";
    private static final int ESCALATING_EVERY = 10;

    /**
     * The shipped policies plus one for {@link #ESCALATING_TENANT}: a lexicon of the commonest words scores every
     * output over its threshold, so each request climbs both rungs and is delivered flagged (onFailure: flag).
     */
    private static Path escalatingPolicies() throws IOException {
        Path dir = Path.of("target", "fault-suite-policies").toAbsolutePath();
        Path shipped = Path.of("policies").toAbsolutePath();
        try (var files = Files.walk(shipped)) {
            for (Path file : files.toList()) {
                Path copy = dir.resolve(shipped.relativize(file).toString());
                if (Files.isDirectory(file)) {
                    Files.createDirectories(copy);
                } else {
                    Files.copy(file, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        Files.writeString(dir.resolve("lexicons/commonest.txt"), "the\na\nand\nwas\nto\nhe\nshe\nit\nhis\nher\n"
                + "they\nin\nof\nwith\non\nsaid\nhad\nday\none\nbig\nhappy\n", StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("fault-suite-escalation.yaml"), """
                id: fault-suite-escalation
                description: FaultSuiteIT only - every output is flagged, so every request climbs the whole ladder.
                tenants: [%s]
                rules:
                  - name: kind
                    apply:
                      - {intervention: kindness, strength: 0.5}
                scorers:
                  - {name: commonest, lexicon: lexicons/commonest.txt, threshold: 0.0001}
                escalation:
                  rungs:
                    - apply: [{intervention: kindness, strength: 1.0}]
                    - apply: [{intervention: kindness, strength: 1.5}]
                  onFailure: flag
                """.formatted(ESCALATING_TENANT), StandardCharsets.UTF_8);
        return dir;
    }

    /**
     * Every escalating request of the scenario (its one result and record the verdict checked) went through its
     * attempts once each: rungs 0, 1, ... without a gap or a repeat, each with its own job key, the last the one the
     * row was at; and some did climb, so escalations were in flight across the outage.
     */
    private static void checkEscalations(String prefix) {
        String sql = "select request_id, attempt, attempts_json from generations where request_id like ? and tenant = ?";
        int rows = 0;
        int climbed = 0;
        List<String> problems = new ArrayList<>();
        try (Connection connection = DriverManager.getConnection(stack.postgres.jdbcUrl(), stack.postgres.username(),
                stack.postgres.password());
             PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setString(1, prefix + "%");
            statement.setString(2, ESCALATING_TENANT);
            try (ResultSet result = statement.executeQuery()) {
                while (result.next()) {
                    rows++;
                    String id = result.getString(1);
                    int attempt = result.getInt(2);
                    com.fasterxml.jackson.databind.JsonNode attempts = io.steergate.testing.TopicClient.json()
                            .readTree(result.getString(3) == null ? "[]" : result.getString(3));
                    Set<String> keys = new java.util.HashSet<>();
                    for (int i = 0; i < attempts.size(); i++) {
                        if (attempts.get(i).path("rung").asInt(-1) != i || !keys.add(attempts.get(i).path("jobKey").asText())) {
                            problems.add(id + ": attempt " + i + " is " + attempts.get(i));
                        }
                    }
                    if (attempts.size() != attempt + 1) {
                        problems.add(id + ": " + attempts.size() + " attempts stored, the row is at attempt " + attempt);
                    }
                    climbed += attempt > 0 ? 1 : 0;
                }
            }
        } catch (SQLException | IOException e) {
            throw new IllegalStateException("could not read the escalating requests' attempts", e);
        }
        record(String.format(Locale.ROOT, "(d) escalating requests: %d, of which %d escalated", rows, climbed));
        assertEquals(REQUESTS / ESCALATING_EVERY + (REQUESTS % ESCALATING_EVERY == 0 ? 0 : 1), rows);
        assertTrue(climbed > 0, "no request escalated: the escalation policy was not in force");
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    /**
     * One HTTP call to {@code app} as acme's client, bounded at 30 s: a door that held the thread would fail the
     * scenario here. {@code path} is under the API's address unless it is a whole URL (the management interface).
     */
    private static HttpResponse<String> http(AppProcess app, String method, String path, String body) {
        URI uri = URI.create(path.startsWith("http") ? path : app.baseUrl() + path);
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .header("Authorization", app.clientAuthorization("acme"));
        request = body == null ? request.GET() : request.header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        try {
            return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new AssertionError(method + " " + path + " got no answer within 30 s during the outage: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    @Test
    @Order(5)
    void brokerStoppedForTheOutage() throws Exception {
        AppProcess app = start("fault-e-app", Map.of());
        List<CompletableFuture<List<String>>> stream = new ArrayList<>();
        runScenario("(e) broker stopped (SIGTERM) for " + OUTAGE.toSeconds() + " s", "e", OUTAGE, () -> {
            stream.add(openStream(app));
            stack.broker.stop();
        }, stack.broker::start);

        // a live stream open when the broker went: not cut; it ends as a stream ends, with [DONE] or an error event
        List<String> data = stream.get(0).get(2, TimeUnit.MINUTES);
        String last = data.isEmpty() ? "(no data line)" : data.get(data.size() - 1);
        record("(e) a live stream open across the outage: " + data.size() + " data lines, the last "
                + (last.length() > 160 ? last.substring(0, 160) + "..." : last));
        assertTrue(last.equals("[DONE]") || last.contains("\"error\""), "the stream's last data line: " + last);
    }

    /** A live stream of acme's (whose policy neither withholds nor regenerates), its data lines once it has ended. */
    private static CompletableFuture<List<String>> openStream(AppProcess app) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(app.baseUrl() + "/v1/completions"))
                .header("Authorization", app.clientAuthorization("acme")).header("Content-Type", "application/json")
                .header("Idempotency-Key", "fault-e-stream-" + UUID.randomUUID())
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\","
                        + "\"max_tokens\":64,\"stream\":true}", StandardCharsets.UTF_8)).build();
        try {
            HttpResponse<Stream<String>> response = HttpClient.newHttpClient()
                    .send(request, HttpResponse.BodyHandlers.ofLines());
            assertEquals(200, response.statusCode(), "a live stream's headers come at once");
            return CompletableFuture.supplyAsync(() -> response.body().filter(line -> line.startsWith("data: "))
                    .map(line -> line.substring("data: ".length())).toList());
        } catch (IOException e) {
            throw new AssertionError("the stream was refused: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private AppProcess start(String name, Map<String, String> env) {
        AppProcess app = stack.app(name, env);
        apps.add(app);
        return app.start();
    }

    /**
     * Sends the requests, injects the fault once some results are back, keeps the part down for {@code down},
     * restores it, waits for every id to be answered (bounded), then checks the results and the database.
     */
    private void runScenario(String label, String key, Duration down, Runnable inject, Runnable restore) {
        runScenario(label, key, i -> "acme", down, inject, restore);
    }

    /** As above, request i of tenant {@code tenantOf(i)}; returns the prefix of the scenario's ids. */
    private String runScenario(String label, String key, java.util.function.IntFunction<String> tenantOf, Duration down,
            Runnable inject, Runnable restore) {
        String prefix = "fault-" + key + "-" + UUID.randomUUID().toString().substring(0, 8) + "-";
        Map<String, Object> requests = new LinkedHashMap<>();
        for (int i = 0; i < REQUESTS; i++) {
            String id = prefix + i;
            requests.put(id, GenerationRequests.of(id, tenantOf.apply(i), PROMPTS[i % PROMPTS.length], MAX_TOKENS, 0.0));
        }
        Set<String> ids = requests.keySet();
        String earlierBacklog = awaitPipelineIdle();
        Timeline timeline = new Timeline();
        Map<String, List<ResultWatch.Copy>> copies;
        Set<String> answeredAtReturn;
        String drainEnd;
        int answeredAtFault;
        try (ResultWatch results = new ResultWatch(stack.broker.bootstrapServers(), "steer.results", ids)) {
            timeline.sent = System.nanoTime();
            stack.topics.sendAllJson("steer.requests", requests);
            if (!results.awaitAnswered(RESULTS_BEFORE_FAULT, Duration.ofMinutes(3))) {
                fail(label + ": only " + results.answered() + " of " + REQUESTS + " ids answered within 3 minutes"
                        + " before any fault\n" + applicationsReport());
            }
            answeredAtFault = results.answered();
            try {
                inject.run();
                pause(down);
            } finally {
                restore.run();
            }
            timeline.returned = System.nanoTime();
            answeredAtReturn = results.answeredIds();
            drainEnd = awaitDrain(results, timeline.returned);
            timeline.drained = System.nanoTime();
            copies = results.copiesById();
        }
        FaultVerdict verdict = FaultVerdict.judge(ids, copies, databaseState(prefix), answeredAtReturn, timeline.returned);
        String recovery = verdict.firstNewNanos()
                .map(first -> String.format(Locale.ROOT, "%.1f s", seconds(first - timeline.returned))).orElse("none");
        String line = String.format(Locale.ROOT,
                "%s: requests %d, %d in flight at the fault, down %d s, recovery %s (part back -> first new result),"
                        + " drain %.1f s (part back -> %s), total %.1f s (first send -> end), duplicates %d,"
                        + " scenario %.0f s (applications started -> end)%s",
                label, REQUESTS, REQUESTS - answeredAtFault, down.toSeconds(), recovery,
                seconds(timeline.drained - timeline.returned), drainEnd, seconds(timeline.drained - timeline.sent),
                verdict.duplicates(), seconds(System.nanoTime() - scenarioBegan), earlierBacklog);
        record(line);
        if (!verdict.problems().isEmpty()) {
            fail(label + " broke the delivery rules:\n- " + String.join("\n- ", verdict.problems())
                    + "\n" + line + "\n" + applicationsReport());
        }
        return prefix;
    }

    /** The moments of one scenario, as System.nanoTime(). */
    private static final class Timeline {
        long sent;
        long returned;
        long drained;
    }

    /**
     * A scenario that failed leaves requests its stopped applications never finished; the next scenario's
     * applications take them up first. Its fault should land on its own requests, so it waits (bounded by the stall
     * timeout) until the pipeline is idle. Says what it waited for, for the scenario's line; empty when nothing.
     */
    private static String awaitPipelineIdle() {
        long began = System.nanoTime();
        long backlog = stack.pipelineBacklog();
        if (backlog == 0) {
            return "";
        }
        long initial = backlog;
        while (backlog > 0 && System.nanoTime() - began < STALL_TIMEOUT.toNanos()) {
            pause(Duration.ofSeconds(1));
            backlog = stack.pipelineBacklog();
        }
        return String.format(Locale.ROOT, ", earlier scenarios' backlog of %d records: %s after %.0f s", initial,
                backlog == 0 ? "processed" : backlog + " left", seconds(System.nanoTime() - began));
    }

    /** Waits until every id is answered, or processing stalls, or the drain timeout passes; says which. */
    private static String awaitDrain(ResultWatch results, long returned) {
        long deadline = returned + DRAIN_TIMEOUT.toNanos();
        while (true) {
            int answered = results.answered();
            if (answered >= REQUESTS) {
                return "every id answered";
            }
            long now = System.nanoTime();
            long lastProgress = Math.max(returned, results.lastArrivalNanos());
            if (now - lastProgress > STALL_TIMEOUT.toNanos()) {
                return "STALLED: no new result for " + STALL_TIMEOUT.toSeconds() + " s, " + answered + " of " + REQUESTS
                        + " answered";
            }
            if (now > deadline) {
                return "TIMED OUT after " + DRAIN_TIMEOUT.toSeconds() + " s, " + answered + " of " + REQUESTS + " answered";
            }
            pause(Duration.ofMillis(250));
        }
    }

    /** Every generation row and audit record of the scenario's ids, by id. */
    private static Map<String, FaultVerdict.DbState> databaseState(String prefix) {
        Map<String, FaultVerdict.DbState> states = new HashMap<>();
        String sql = """
                select g.request_id, count(*), min(g.status), min(g.error_code),
                       (select count(*) from audit_records a where a.request_id = g.request_id)
                from generations g where g.request_id like ? group by g.request_id
                union all
                select a.request_id, 0, null, null, count(*)
                from audit_records a where a.request_id like ?
                  and not exists (select 1 from generations g where g.request_id = a.request_id)
                group by a.request_id
                """;
        try (Connection connection = DriverManager.getConnection(stack.postgres.jdbcUrl(), stack.postgres.username(),
                stack.postgres.password());
             PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setString(1, prefix + "%");
            statement.setString(2, prefix + "%");
            try (ResultSet rows = statement.executeQuery()) {
                while (rows.next()) {
                    states.put(rows.getString(1),
                            new FaultVerdict.DbState(rows.getInt(2), rows.getString(3), rows.getString(4), rows.getInt(5)));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("could not read the generations and audit records", e);
        }
        return states;
    }

    private String applicationsReport() {
        StringBuilder text = new StringBuilder("applications at the end:");
        for (AppProcess app : apps) {
            text.append("\n  ").append(app.logFile().getFileName()).append(": ").append(app.health())
                    .append(" (log ").append(app.logFile()).append(')');
        }
        text.append("\n  broker: ").append(stack.broker.isAlive() ? "running" : "down").append(" (log ")
                .append(stack.broker.logFile()).append(')');
        text.append("\n  PostgreSQL: ").append(stack.postgres.isRunning() ? "running" : "down");
        for (AppProcess app : apps) {
            text.append("\nlast lines of ").append(app.logFile().getFileName()).append(":\n").append(app.logTail(25));
        }
        return text.toString();
    }

    private static void record(String line) {
        System.out.println("[fault-suite] " + line);
        try {
            Files.writeString(RESULTS_FILE, line + System.lineSeparator(), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IllegalStateException("could not write " + RESULTS_FILE, e);
        }
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    private static void pause(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
