package io.steergate.worker;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.gateway.Generation;
import io.steergate.messages.AppliedIntervention;
import io.steergate.messages.Job;
import io.steergate.testing.Management;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.TopicClient;
import io.steergate.testing.TopicClient.Received;
import io.steergate.testing.TestModel;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The worker's answers to jobs that fail, end without a result or cannot be read, and to a registry read that fails
 * while the database is away, through the real pipeline: a real broker, a real PostgreSQL, the real model.
 * Stopping this JVM's shared PostgreSQL or broker would also hit the other suites' background loops, so the outage
 * here is staged on the worker's own connection only: its map read is held by a table lock and its backend is
 * terminated, as a PostgreSQL restart does. JobLoopTest covers the loop's waits (pause, rebalance, broker errors).
 * One job asking for a counterfactual takes the same pipeline (JobBatchCounterfactualTest covers the batch's rows).
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class WorkerFaultsQuarkusTest {

    static final Duration WAIT = Duration.ofSeconds(60);

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @Inject
    EntityManager entities;

    @Inject
    JobAttempts attempts;

    @Inject
    ModelRuntime runtime;

    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String jdbcUrl;

    @ConfigProperty(name = "quarkus.datasource.username")
    String dbUser;

    @ConfigProperty(name = "quarkus.datasource.password")
    String dbPassword;

    TopicClient kafka;

    @BeforeEach
    void connect() {
        kafka = new TopicClient(bootstrapServers);
    }

    @AfterEach
    void disconnect() {
        kafka.close();
    }

    static String id(String what) {
        return what + "-" + UUID.randomUUID();
    }

    static String request(String id) {
        return "{\"id\":\"" + id + "\",\"tenant\":\"acme\",\"prompt\":\"Once upon a time\",\"maxTokens\":4}";
    }

    JsonNode sendRequest(String id) {
        kafka.send("steer.requests", id, request(id).getBytes(StandardCharsets.UTF_8));
        return kafka.awaitRecord("steer.results", id, WAIT).json();
    }

    Integer attemptsOf(String id) {
        List<?> rows = QuarkusTransaction.requiringNew().call(() -> entities
                .createNativeQuery("select attempts from job_attempts where request_id = :id")
                .setParameter("id", id).getResultList());
        return rows.isEmpty() ? null : ((Number) rows.get(0)).intValue();
    }

    @Test
    void aJobWhoseEarlierAttemptsEndedWithoutAResultIsDeadLetteredAndItsRequestEndsFailed() throws Exception {
        String id = id("crashed-twice");
        // the gateway's accepted request and its job (keyed by the generation row, as the gateway queues it) ...
        Generation row = new Generation();
        row.requestId = id;
        row.tenant = "acme";
        row.status = Generation.State.PENDING;
        row.source = Generation.Source.KAFKA;
        row.acceptedAt = java.time.Instant.now();
        String jobKey = QuarkusTransaction.requiringNew().call(() -> {
            row.persist();
            return row.jobKey();
        });
        Job staged = job(jobKey, 1.0);
        String stagedJson = TopicClient.json().writeValueAsString(staged);
        QuarkusTransaction.requiringNew().run(() -> Generation.update("jobJson = ?1 where id = ?2", stagedJson, row.id));
        // ... and the attempts a worker leaves when it stopped twice while generating that job (max-attempts is 3)
        QuarkusTransaction.requiringNew().run(() -> entities.createNativeQuery("insert into job_attempts "
                        + "(request_id, attempts, last_error, updated_at) values (:id, 2, 'OutOfMemoryError: staged', now())")
                .setParameter("id", jobKey).executeUpdate());

        kafka.sendJson(TestModel.JOBS_TOPIC, jobKey, staged);
        JsonNode result = kafka.awaitRecord("steer.results", id, WAIT).json();

        assertEquals("FAILED", result.get("status").asText());
        assertEquals("JOB_DEAD_LETTERED", result.at("/error/code").asText());
        String reason = result.at("/error/message").asText();
        assertTrue(reason.startsWith("attempt 3 of steergate.worker.max-attempts=3: "), reason);
        assertTrue(reason.endsWith("last error: OutOfMemoryError: staged"), reason);
        Received job = kafka.awaitRecord(TestModel.JOBS_TOPIC, r -> r.text().contains("\"requestId\":\"" + jobKey + "\""), WAIT);
        Received letter = kafka.awaitRecord("steer.jobs.dlq", r -> r.text() != null && r.text().contains("\"" + jobKey + "\""), WAIT);
        assertArrayEquals(job.value(), letter.value(), "the job's original bytes");
        assertEquals(job.key(), letter.key());
        assertEquals("JOB_DEAD_LETTERED", letter.header("steergate-error-code"));
        assertEquals(reason, letter.header("steergate-error-message"));
        assertEquals(3, attemptsOf(jobKey), "kept, so that a redelivery is dead-lettered again");
        given().when().get("/v1/generations/" + id).then().statusCode(200).body("status", equalTo("FAILED"));
        Management.given().when().get("/q/metrics").then().statusCode(200)
                .body(containsString("steergate_worker_jobs_dead_lettered_total{reason=\"max-attempts\"}"));
    }

    @Test
    void unreadableJobsGoToTheJobDeadLetterTopicWithTheReasonAndTheWorkerGoesOn() {
        String key = id("unreadable");
        byte[] notJson = "not a job".getBytes(StandardCharsets.UTF_8);
        byte[] noId = "{\"tenant\":\"acme\",\"prompt\":\"Once upon a time\"}".getBytes(StandardCharsets.UTF_8);
        kafka.send(TestModel.JOBS_TOPIC, key + "-0", notJson);
        kafka.send(TestModel.JOBS_TOPIC, key + "-1", noId);

        Received first = kafka.awaitRecord("steer.jobs.dlq", key + "-0", WAIT);
        assertArrayEquals(notJson, first.value());
        assertEquals("NOT_JSON", first.header("steergate-error-code"));
        assertTrue(first.header("steergate-error-message").startsWith("not JSON: "), first.header("steergate-error-message"));
        Received second = kafka.awaitRecord("steer.jobs.dlq", key + "-1", WAIT);
        assertArrayEquals(noId, second.value());
        assertEquals("INVALID_ID", second.header("steergate-error-code"));
        assertEquals("requestId: missing", second.header("steergate-error-message"));

        String sentinel = id("after-unreadable");
        assertEquals("COMPLETED", sendRequest(sentinel).get("status").asText());
        Management.given().when().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"))
                .body("checks.find { it.name == 'steergate' }.data.workerWarm", equalTo(true));
    }

    @Test
    void aJobThatCannotBeGeneratedFailsAloneAndTheJobsBesideItComplete() {
        // Forged jobs: the gateway validates every field, so only a forged job can fail this way. Sent together they
        // usually share a poll; JobBatchTest shows the batch-level isolation whatever the timing.
        Map<String, Object> jobs = new LinkedHashMap<>();
        String ok1 = id("beside-1");
        String bad = id("forged");
        String ok2 = id("beside-2");
        jobs.put(ok1, job(ok1, 1.0));
        jobs.put(bad, job(bad, 0.0));
        jobs.put(ok2, job(ok2, 1.0));
        kafka.sendAllJson(TestModel.JOBS_TOPIC, jobs);

        List<Received> results = kafka.awaitRecords("steer.job-results", r -> jobs.containsKey(r.key()), 3, WAIT);

        Map<String, JsonNode> byId = new LinkedHashMap<>();
        results.forEach(r -> byId.putIfAbsent(r.key(), r.json()));
        assertEquals(Set.of(ok1, bad, ok2), byId.keySet());
        assertEquals("COMPLETED", byId.get(ok1).get("status").asText());
        assertEquals("COMPLETED", byId.get(ok2).get("status").asText());
        assertEquals("FAILED", byId.get(bad).get("status").asText());
        assertEquals("GENERATION_FAILED", byId.get(bad).at("/error/code").asText());
        assertEquals("job cannot be generated: IllegalArgumentException: topP must be in (0, 1], got 0.0",
                byId.get(bad).at("/error/message").asText());
    }

    static Job job(String id, double topP) {
        return job(id, topP, List.of());
    }

    static Job job(String id, double topP, List<AppliedIntervention> plan) {
        return new Job(id, "acme", "stories260K", "Once upon a time", 4, 0.0, topP, 1L, null, plan, System.currentTimeMillis(), false);
    }

    @Test
    void aMapReadFailingWhileTheDatabaseIsAwayPausesTheWorkerUntilItGoesThrough() throws Exception {
        // a version no worker has read yet, so the job's plan must be read from the registry
        String name = "wf-" + UUID.randomUUID().toString().substring(0, 8);
        given().body(mapFile(name)).contentType("application/octet-stream").queryParam("kind", "style")
                .when().post("/v1/interventions/" + name + "/versions").then().statusCode(201);
        String id = id("map-read");
        try (Connection holder = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
             Connection observer = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword)) {
            holder.setAutoCommit(false);
            try (Statement lock = holder.createStatement()) {
                lock.execute("lock table intervention_versions in access exclusive mode");
            }
            kafka.sendJson(TestModel.JOBS_TOPIC, id, job(id, 1.0, List.of(new AppliedIntervention(name, 1, 0.5))));

            int reader = await().atMost(WAIT).until(() -> blockedMapReader(observer), pid -> pid != null);
            try (Statement terminate = observer.createStatement()) {
                terminate.execute("select pg_terminate_backend(" + reader + ")");
            }
            // the worker retries, meets the lock again and reports not ready while it waits
            await().atMost(WAIT).until(() -> Management.given().when().get("/q/health/ready").statusCode() == 503);
            Management.given().when().get("/q/health/ready").then().statusCode(503)
                    .body("checks.find { it.name == 'steergate' }.data.worker", equalTo(false));
            holder.rollback();
        }

        JsonNode result = kafka.awaitRecord("steer.job-results", id, WAIT).json();
        assertEquals("COMPLETED", result.get("status").asText(), result.toString());
        await().atMost(WAIT).until(() -> Management.given().when().get("/q/health/ready").statusCode() == 200);
        String sentinel = id("after-map-read");
        assertEquals("COMPLETED", sendRequest(sentinel).get("status").asText());
    }

    /**
     * The backend of the worker's map read once it waits on the test's lock (Hibernate's query by name and version).
     * Asked outside the lock's transaction: pg_stat_activity is a snapshot taken once per transaction.
     */
    static Integer blockedMapReader(Connection observer) throws Exception {
        try (Statement query = observer.createStatement();
             ResultSet rows = query.executeQuery("select pid from pg_stat_activity where wait_event_type = 'Lock'"
                     + " and query like '%intervention_versions%' and query like '%version=$2%'")) {
            return rows.next() ? rows.getInt(1) : null;
        }
    }

    byte[] mapFile(String name) {
        int width = runtime.config().dim();
        float[] omega = new float[width];
        float[] beta = new float[width];
        Arrays.fill(omega, 1f);
        Arrays.fill(beta, 0.01f);
        return InterventionFile.write(new Intervention(name, Intervention.MEAN_SHIFT, runtime.ref().fingerprint(), "test",
                Map.of(), new TreeMap<>(Map.of(new HookSite(0, HookPoint.RESID), AffineMap.of(omega, beta)))));
    }

    @Test
    void aJobAskingForACounterfactualGetsTheUnsteeredTextOfTheSameSeedBesideItsOwn() throws Exception {
        // the shipped kindness map under a name of its own: the job names its version, whatever is active
        Intervention kindness = InterventionFile.read(Path.of("policies/interventions/kindness.safetensors"));
        String name = "cf-" + UUID.randomUUID().toString().substring(0, 8);
        given().body(InterventionFile.write(new Intervention(name, kindness.method(), kindness.modelFingerprint(),
                        kindness.concept(), Map.of(), kindness.maps())))
                .contentType("application/octet-stream").queryParam("kind", "toxicity")
                .when().post("/v1/interventions/" + name + "/versions").then().statusCode(201);
        String steered = id("counterfactual");
        String plain = id("unsteered");
        String prompt = "Tom was mean to his sister. He"; // greedy, kindness at strength 1 changes its first token
        Map<String, Object> jobs = new LinkedHashMap<>();
        jobs.put(steered, new Job(steered, "acme", "stories260K", prompt, 12, 0.0, 1.0, 7L, null,
                List.of(new AppliedIntervention(name, 1, 1.0)), System.currentTimeMillis(), true));
        jobs.put(plain, new Job(plain, "acme", "stories260K", prompt, 12, 0.0, 1.0, 7L, null, List.of(),
                System.currentTimeMillis(), false));
        kafka.sendAllJson(TestModel.JOBS_TOPIC, jobs);

        JsonNode result = kafka.awaitRecord("steer.job-results", steered, WAIT).json();
        JsonNode unsteered = kafka.awaitRecord("steer.job-results", plain, WAIT).json();

        assertEquals("COMPLETED", result.get("status").asText(), result.toString());
        assertEquals(unsteered.get("text").asText(), result.get("counterfactualText").asText(), result.toString());
        assertNotEquals(result.get("text").asText(), result.get("counterfactualText").asText(), result.toString());
        assertTrue(unsteered.get("counterfactualText").isNull(), unsteered.toString());
        assertEquals(unsteered.at("/usage/promptTokens").asInt(), result.at("/usage/promptTokens").asInt());
        Management.given().when().get("/q/metrics").then().statusCode(200)
                .body(containsString("steergate_worker_counterfactual_tokens_total"));
    }

    @Test
    void attemptsAreCountedFirstTogetherThenOneByOneAndForgottenWhenFinished() {
        String a = id("a");
        String b = id("b");
        String c = id("c");

        assertEquals(Set.of(a, b), attempts.startFirst(List.of(a, b, a)));
        assertEquals(Set.of(c), attempts.startFirst(List.of(a, c)), "a and b have a row: they failed before");
        assertEquals(new JobLoop.Attempt(2, null), attempts.startAlone(a));
        attempts.recordError(List.of(a, b), "IllegalStateException: staged");
        assertEquals(new JobLoop.Attempt(3, "IllegalStateException: staged"), attempts.startAlone(a));
        assertEquals(new JobLoop.Attempt(2, "IllegalStateException: staged"), attempts.startAlone(b));
        String fresh = id("fresh");
        assertEquals(new JobLoop.Attempt(1, null), attempts.startAlone(fresh));
        // queued alone and handed over before they started: the attempt counted at the queue is taken back, never below 1
        attempts.notStarted(List.of(a, b, c));
        assertEquals(2, attemptsOf(a));
        assertEquals(1, attemptsOf(b));
        assertEquals(1, attemptsOf(c));

        attempts.finished(List.of(a, b, c, fresh));

        assertEquals(Set.of(a, b, c), attempts.startFirst(List.of(a, b, c)));
        attempts.finished(List.of(a, b, c));
        assertEquals(null, attemptsOf(a));
    }
}
