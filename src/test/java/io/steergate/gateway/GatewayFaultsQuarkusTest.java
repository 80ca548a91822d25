package io.steergate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.steergate.audit.AuditRecord;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.GenerationResult;
import io.steergate.messages.JobResult;
import io.steergate.messages.ModelRef;
import io.steergate.outbox.OutboxEvent;
import io.steergate.testing.OutboxRows;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.TopicClient;
import io.steergate.testing.TopicClient.Received;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What must not stop or double the gateway: a message PostgreSQL would refuse, forged job results, a request whose
 * job never comes back, and one job result finished twice at once.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class GatewayFaultsQuarkusTest {

    static final Duration WAIT = Duration.ofSeconds(60);

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @Inject
    GenerationService generations;

    @Inject
    MeterRegistry metrics;

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

    Received send(String id, String body) {
        kafka.send("steer.requests", id, body.getBytes(StandardCharsets.UTF_8));
        return kafka.awaitRecord("steer.results", id, WAIT);
    }

    Received sentinel() {
        String id = id("sentinel");
        Received result = send(id, "{\"id\":\"" + id + "\",\"tenant\":\"acme\",\"prompt\":\"Once upon a time\",\"maxTokens\":4}");
        assertEquals("COMPLETED", result.json().get("status").asText(), result.text());
        return result;
    }

    @Test
    void aNulInAFieldNameIsAnsweredWithTheFieldEscapedAndTheConsumerGoesOn() {
        String id = id("nul");
        JsonNode result = send(id, "{\"id\":\"" + id + "\",\"tenant\":\"acme\",\"prompt\":\"x\",\"\\u0000\":1}").json();

        assertEquals("REJECTED", result.get("status").asText());
        assertEquals("INVALID_REQUEST", result.at("/error/code").asText());
        String message = result.at("/error/message").asText();
        assertTrue(message.contains("\\u0000"), message);
        assertFalse(message.contains("\u0000"), message);
        assertEquals("REJECTED", audit(id).status);
        sentinel();
    }

    @Test
    void aHugeErrorMessageIsBoundedInTheResultAndTheAuditRecord() {
        String id = id("wide");
        StringBuilder body = new StringBuilder("{\"id\":\"" + id + "\",\"tenant\":\"acme\",\"prompt\":\"x\"");
        for (int i = 0; i < 5_000; i++) {
            body.append(",\"unknown-field-").append(i).append("\":1");
        }
        JsonNode result = send(id, body.append('}').toString()).json();

        assertEquals("REJECTED", result.get("status").asText());
        assertTrue(result.at("/error/message").asText().length() <= 1_000, result.at("/error/message").asText());
    }

    @Test
    void forgedJobResultsGoToTheJobResultsDeadLetterTopicAndTheGatewayGoesOn() {
        String nullStatus = id("forged");
        String notJson = id("forged");
        kafka.send("steer.job-results", nullStatus,
                ("{\"requestId\":\"" + nullStatus + "\",\"status\":null,\"queueMs\":0,\"generateMs\":0}").getBytes(StandardCharsets.UTF_8));
        kafka.send("steer.job-results", notJson, "{not json".getBytes(StandardCharsets.UTF_8));

        Received first = kafka.awaitRecord("steer.job-results.dlq", nullStatus, WAIT);
        assertEquals("INVALID_REQUEST", first.header("steergate-error-code"));
        assertTrue(first.header("steergate-error-message").contains("status is missing"), first.header("steergate-error-message"));
        Received second = kafka.awaitRecord("steer.job-results.dlq", notJson, WAIT);
        assertEquals("{not json", second.text());
        assertTrue(second.header("steergate-error-message").contains("not a JobResult"), second.header("steergate-error-message"));
        sentinel();
    }

    @Test
    void aRequestWhoseJobNeverReturnsEndsFailedTimedOutWithItsAuditRecord() {
        String id = id("lost-job");
        QuarkusTransaction.requiringNew().run(() -> pendingRow(id, Instant.now().minus(Duration.ofHours(1))).persist());

        JsonNode result = kafka.awaitRecord("steer.results", id, WAIT).json();

        assertEquals("FAILED", result.get("status").asText());
        assertEquals("TIMED_OUT", result.at("/error/code").asText());
        assertEquals("TIMED_OUT", audit(id).errorCode);
        assertEquals(Generation.State.FAILED,
                QuarkusTransaction.requiringNew().call(() -> Generation.byTenantAndRequestId("acme", id).orElseThrow()).status);
    }

    @Test
    void oneJobResultCompletedTwiceAtOnceGivesOneAuditRecordAndOneResult() throws Exception {
        List<String> ids = new ArrayList<>();
        Map<String, String> jobKeys = new HashMap<>();
        for (int i = 0; i < 10; i++) {
            String id = id("race");
            ids.add(id);
            jobKeys.put(id, persistPending(id, Instant.now()));
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (TopicClient.Tail results = kafka.tail("steer.results")) {
            for (String id : ids) {
                JobResult outcome = new JobResult(jobKeys.get(id), GenerationResult.Status.COMPLETED, " the end", new ModelRef("stories260K", "sha256:test"),
                        new GenerationResult.Usage(5, 2), 1, 2, null, null);
                CountDownLatch start = new CountDownLatch(1);
                List<Future<?>> both = List.of(
                        pool.submit(() -> { start.await(); generations.complete(outcome); return null; }),
                        pool.submit(() -> { start.await(); generations.complete(outcome); return null; }));
                start.countDown();
                for (Future<?> done : both) {
                    done.get();
                }
            }
            for (String id : ids) {
                assertEquals(1L, QuarkusTransaction.requiringNew().call(() -> AuditRecord.count("requestId", id)), id);
            }
            results.await(r -> ids.contains(r.key()), ids.size(), WAIT);
            sentinel();
            for (String id : ids) {
                assertEquals(1, results.records(r -> id.equals(r.key())).size(), id);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    static AuditRecord audit(String id) {
        return QuarkusTransaction.requiringNew().call(() -> AuditRecord.<AuditRecord>find("requestId", id).singleResult());
    }

    @Test
    void aResultTooLargeForTheTopicEndsFailedInsteadOfBeingPublishedCut() {
        String id = id("huge");
        String jobKey = persistPending(id, Instant.now());
        generations.complete(new JobResult(jobKey, GenerationResult.Status.COMPLETED, "x".repeat(1_100_000),
                new ModelRef("stories260K", "sha256:test"), new GenerationResult.Usage(5, 2), 1, 2, null, null));

        Received result = kafka.awaitRecord("steer.results", id, WAIT);
        assertEquals("FAILED", result.json().get("status").asText());
        assertEquals("RESULT_TOO_LARGE", result.json().at("/error/code").asText());
        assertTrue(result.value().length < 2_000, "published whole and small: " + result.value().length);
    }

    @Test
    void aJobResultWithAnErrorCodeOfNoWorkerIsDeadLetteredAtOnceNotLeftToTheDeadline() {
        String id = id("forged-code");
        String forged = "F_" + "X".repeat(40); // longer than the audit record's code column, and no code of ours
        QuarkusTransaction.requiringNew().run(() -> pendingRow(id, Instant.now()).persist());
        kafka.send("steer.job-results", id, ("{\"requestId\":\"" + id + "\",\"status\":\"FAILED\",\"queueMs\":0,"
                + "\"generateMs\":0,\"error\":{\"code\":\"" + forged + "\",\"message\":\"made up\"}}").getBytes(StandardCharsets.UTF_8));

        Received dead = kafka.awaitRecord("steer.job-results.dlq", id, WAIT);
        assertTrue(dead.header("steergate-error-message").contains("is not one of SteerGate's"), dead.header("steergate-error-message"));
        assertEquals(List.of(), metrics.find("steergate.requests.failed").tag("code", forged).counters());
        sentinel();
    }

    @Test
    void anOutboxRecordTheBrokerRefusesIsSetAsideWithoutHoldingUpTheRecordsBehindIt() throws InterruptedException {
        String key = id("refused");
        long refusedId = QuarkusTransaction.requiringNew().call(() -> {
            OutboxEvent bad = OutboxRows.row("not a valid topic!", key, "{}");
            bad.persist();
            OutboxRows.row("steer.results", key, "{}").persist();
            return bad.id;
        });

        assertEquals("{}", kafka.awaitRecord("steer.results", key, WAIT).text());
        OutboxEvent setAside = OutboxRows.awaitSetAside(refusedId, WAIT);
        assertEquals(5, setAside.attempts);
        assertTrue(setAside.lastError.contains("InvalidTopicException"), setAside.lastError);
        assertTrue(metrics.get("steergate.outbox.set.aside").gauge().value() >= 1); // counted when a row is refused
        sentinel();
        for (String stage : List.of("outbox-wait", "outbox-send")) {
            assertTrue(metrics.get("steergate.gateway.stage").tag("stage", stage).timer().count() > 0, stage);
        }
    }

    @Test
    void recordsTheBrokerAcknowledgedAreNeverSentAgainWhileARefusedOneIsRetried() throws InterruptedException {
        String key = id("acked-once"); // one key, one partition: its records are read in the order published
        long refusedId = QuarkusTransaction.requiringNew().call(() -> {
            OutboxRows.row("steer.results", key, "{\"n\":1}").persist();
            OutboxEvent bad = OutboxRows.row("not a valid topic!", key, "{}");
            bad.persist();
            OutboxRows.row("steer.results", key, "{\"n\":2}").persist();
            return bad.id;
        });
        // set aside after max-attempts passes of the relay: a pass that re-sent acknowledged records has run by now
        OutboxRows.awaitSetAside(refusedId, WAIT);
        QuarkusTransaction.requiringNew().run(() -> OutboxRows.row("steer.results", key, "{\"n\":3}").persist());

        try (TopicClient.Tail tail = kafka.tail("steer.results")) {
            tail.await(r -> key.equals(r.key()) && r.text().equals("{\"n\":3}"), 1, WAIT);
            assertEquals(List.of("{\"n\":1}", "{\"n\":2}", "{\"n\":3}"),
                    tail.records(r -> key.equals(r.key())).stream().map(Received::text).toList());
        }
    }

    /** A PENDING row with its job, as accept leaves it, accepted at {@code acceptedAt}. */
    @Test
    void twoTenantsSendingOneIdGetTwoGenerationsAndEachJobResultFindsItsOwn() {
        String id = id("shared-id");
        String acmeKey = persistPending(id, Instant.now());
        String otherKey = QuarkusTransaction.requiringNew().call(() -> {
            Generation other = pendingRow(id, Instant.now());
            other.tenant = "kids-co";
            other.persist();
            return other.jobKey();
        });
        generations.complete(new JobResult(otherKey, GenerationResult.Status.COMPLETED, " kids text",
                new ModelRef("stories260K", "sha256:test"), new GenerationResult.Usage(5, 2), 1, 2, null, null));

        Generation kids = QuarkusTransaction.requiringNew().call(() -> Generation.byTenantAndRequestId("kids-co", id).orElseThrow());
        Generation acme = QuarkusTransaction.requiringNew().call(() -> Generation.byTenantAndRequestId("acme", id).orElseThrow());
        assertEquals(Generation.State.COMPLETED, kids.status);
        assertTrue(kids.resultJson.contains("\"tenant\":\"kids-co\""), kids.resultJson);
        assertEquals(Generation.State.PENDING, acme.status, "the other tenant's request with the same id is untouched");
        assertTrue(!acmeKey.equals(otherKey));
    }

    @Test
    void aJobResultQueuedBeforeJobKeysFindsItsRequestByTheClientsId() {
        String id = id("legacy");
        persistPending(id, Instant.now());
        generations.complete(new JobResult(id, GenerationResult.Status.COMPLETED, " the end",
                new ModelRef("stories260K", "sha256:test"), new GenerationResult.Usage(5, 2), 1, 2, null, null));

        assertEquals(Generation.State.COMPLETED,
                QuarkusTransaction.requiringNew().call(() -> Generation.byTenantAndRequestId("acme", id).orElseThrow()).status);
    }

    /** Stores a PENDING acme request and returns its job key, as a worker's result would carry it. */
    static String persistPending(String id, Instant acceptedAt) {
        return QuarkusTransaction.requiringNew().call(() -> {
            Generation row = pendingRow(id, acceptedAt);
            row.persist();
            return row.jobKey();
        });
    }

    static Generation pendingRow(String id, Instant acceptedAt) {
        Generation generation = new Generation();
        generation.requestId = id;
        generation.tenant = "acme";
        generation.status = Generation.State.PENDING;
        generation.source = Generation.Source.KAFKA;
        generation.requestJson = "{\"id\":\"" + id + "\",\"tenant\":\"acme\",\"prompt\":\"x\"}";
        generation.jobJson = "{\"requestId\":\"" + id + "\",\"tenant\":\"acme\",\"model\":\"stories260K\",\"prompt\":\"x\","
                + "\"maxTokens\":4,\"temperature\":0.0,\"topP\":1.0,\"seed\":1,\"policy\":{\"id\":\"default\",\"version\":\"sha256:x\"},"
                + "\"plan\":[],\"acceptedAtMs\":" + acceptedAt.toEpochMilli() + "}";
        generation.acceptedAt = acceptedAt;
        return generation;
    }
}
