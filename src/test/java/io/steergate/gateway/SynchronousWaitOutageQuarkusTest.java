package io.steergate.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.steergate.audit.AuditRecord;
import io.steergate.openai.StreamingTestProfile;
import io.steergate.outbox.OutboxEvent;
import io.steergate.security.ApiKeys;
import io.steergate.security.Roles;
import io.steergate.testing.DatabaseOutage;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL away while a caller of POST /v1/generations waits synchronously for its outcome: the job's result comes
 * from the worker during the outage and is stored once the database is back, and the caller, whose look at its row
 * failed meanwhile, gets that stored outcome. The jobs go to the stand-in worker of {@link StreamingTestProfile}
 * (20 ms a token), so the result's arrival is known to fall inside the outage.
 */
@QuarkusTest
@TestProfile(StreamingTestProfile.class)
class SynchronousWaitOutageQuarkusTest {

    static final Duration WAIT = Duration.ofSeconds(60);

    @TestHTTPResource("/")
    URL base;

    @Inject
    ApiKeys keys;

    @Inject
    MeterRegistry metrics;

    @Inject
    ObjectMapper json;

    @Test
    void aSynchronousCallerWaitsThroughADatabaseOutageAndGetsItsCompletion() throws Exception {
        String id = "sync-db-away-" + UUID.randomUUID();
        double failedReadsBefore = failedOutcomeReads();
        DatabaseOutage database = DatabaseOutage.ofTestApplication();
        String key = keys.issue(List.of("acme"), List.of(Roles.CLIENT), "synchronous outage test", null, "test").key();
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "v1/generations"))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"" + id + "\",\"prompt\":\"Once upon a time\",\"maxTokens\":100}"))
                .build();
        CompletableFuture<HttpResponse<String>> answer = HttpClient.newHttpClient().sendAsync(request, HttpResponse.BodyHandlers.ofString());

        // accepted and its job sent to the worker, which answers ~2 s later: in the middle of the 4 s outage
        await().atMost(WAIT).until(() -> jobSent(id));
        assertFalse(answer.isDone(), "the caller is still waiting when the database goes away");
        database.stage(Duration.ofSeconds(4), new AtomicBoolean());

        HttpResponse<String> response = answer.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(200, response.statusCode(), response.body());
        JsonNode result = json.readTree(response.body());
        assertEquals(id, result.get("id").asText());
        assertEquals("COMPLETED", result.get("status").asText());
        assertEquals(IntStream.range(0, 100).mapToObj(i -> " w" + i).collect(Collectors.joining()), result.get("text").asText());
        assertEquals(1L, QuarkusTransaction.requiringNew().call(() -> AuditRecord.count("requestId", id)));
        assertTrue(failedOutcomeReads() > failedReadsBefore, "the caller's look at its row met the outage");
    }

    /** The row is stored with its job's outbox row in one transaction; the relay deletes that row once the job is sent. */
    static boolean jobSent(String id) {
        return QuarkusTransaction.requiringNew().call(() -> Generation.byTenantAndRequestId("acme", id)
                .map(row -> row.status == Generation.State.PENDING && OutboxEvent.count("messageKey", id) == 0)
                .orElse(false));
    }

    double failedOutcomeReads() {
        Counter failed = metrics.find("steergate.gateway.outcome.reads.failed").counter();
        return failed == null ? 0 : failed.count();
    }
}
