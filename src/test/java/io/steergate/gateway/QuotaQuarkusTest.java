package io.steergate.gateway;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import io.steergate.security.ApiKeys;
import io.steergate.security.Roles;
import io.steergate.testing.Management;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.TopicClient;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * Per-tenant quotas through both doors, on the real broker and PostgreSQL. application.properties gives the tenants
 * used here (and only they) small quotas in the test profile: quota-requests 3 requests a minute, quota-kafka 1,
 * quota-tokens 1 completion token a day, quota-inflight 100.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class QuotaQuarkusTest {

    static final Duration WAIT = Duration.ofSeconds(60);

    @Inject
    ApiKeys keys;

    @Inject
    EntityManager entities;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    RequestSpecification client(String tenant) {
        String key = keys.issue(List.of(tenant), List.of(Roles.CLIENT), "quota test", null, "test").key();
        return given().header("Authorization", "Bearer " + key).contentType("application/json");
    }

    /** A request the decoder rejects at once (empty prompt): accepted and stored as REJECTED, never generated. */
    static String rejectedBody(String id) {
        return "{\"id\":\"" + id + "\",\"prompt\":\"\"}";
    }

    long used(String tenant, String kind) {
        return QuarkusTransaction.requiringNew().call(() -> ((Number) entities.createNativeQuery(
                        "select coalesce(sum(used), 0) from quota_usage where tenant = :t and kind = :k and window_start = "
                                + "(select max(window_start) from quota_usage where tenant = :t and kind = :k)")
                .setParameter("t", tenant).setParameter("k", kind).getSingleResult()).longValue());
    }

    long stored(String tenant, String id) {
        return QuarkusTransaction.requiringNew().call(() -> Generation.count("tenant = ?1 and requestId = ?2", tenant, id));
    }

    /** The counts are per UTC window: start far enough from the window's end that every request falls in one. */
    static void awayFromTheEndOf(ChronoUnit window, Duration margin) throws InterruptedException {
        Instant now = Instant.now();
        Instant end = now.truncatedTo(window).plus(1, window);
        if (Duration.between(now, end).compareTo(margin) < 0) {
            Thread.sleep(Duration.between(now, end).toMillis() + 200);
        }
    }

    @Test
    void overTheMinuteQuotaHttpAnswers429WithRetryAfterStoresNothingAndDuplicatesAreNotCharged() throws InterruptedException {
        awayFromTheEndOf(ChronoUnit.MINUTES, Duration.ofSeconds(20));
        RequestSpecification tenant = client("quota-requests");
        String first = "quota-" + UUID.randomUUID();
        tenant.body(rejectedBody(first)).post("/v1/generations").then().statusCode(400).body("code", equalTo("INVALID_REQUEST"));
        assertEquals(1, used("quota-requests", "requests"));
        // a repeated id is answered from the store before any quota and charged nothing
        client("quota-requests").body(rejectedBody(first)).post("/v1/generations").then().statusCode(400);
        assertEquals(1, used("quota-requests", "requests"), "a duplicate id is not charged");
        for (int i = 0; i < 2; i++) {
            client("quota-requests").body(rejectedBody("quota-" + UUID.randomUUID())).post("/v1/generations").then().statusCode(400);
        }
        assertEquals(3, used("quota-requests", "requests"));

        String over = "quota-" + UUID.randomUUID();
        Response refused = client("quota-requests").body(rejectedBody(over)).post("/v1/generations");
        assertEquals(429, refused.statusCode(), refused.asString());
        assertEquals("QUOTA_EXCEEDED", refused.jsonPath().getString("code"));
        assertTrue(refused.jsonPath().getString("message").contains("3 requests per minute"), refused.asString());
        long retryAfter = Long.parseLong(refused.header("Retry-After"));
        assertTrue(retryAfter >= 1 && retryAfter <= 60, "Retry-After " + retryAfter + " s is within the minute");
        assertEquals(0, stored("quota-requests", over), "nothing is stored for a refused request, so its id may be sent later");
        assertEquals(3, used("quota-requests", "requests"), "a refused request is not charged");
        // over quota, an id already accepted is still answered with its stored outcome
        client("quota-requests").body(rejectedBody(first)).post("/v1/generations").then().statusCode(400).body("code", equalTo("INVALID_REQUEST"));

        // another tenant is not affected
        client("acme").body(rejectedBody(over)).post("/v1/generations").then().statusCode(400).body("code", equalTo("INVALID_REQUEST"));

        String metrics = Management.given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertTrue(metrics.contains("steergate_quota_exceeded_total{kind=\"requests\",tenant=\"quota-requests\"}"), "exceeded counter");
        assertTrue(metrics.contains("steergate_quota_used_fraction{kind=\"requests\",tenant=\"quota-requests\"} 1.0"), "used fraction");
    }

    @Test
    void overTheMinuteQuotaKafkaPublishesAStoredRejectedQuotaExceeded() throws InterruptedException {
        awayFromTheEndOf(ChronoUnit.MINUTES, Duration.ofSeconds(30));
        try (TopicClient kafka = new TopicClient(bootstrapServers)) {
            String first = "quota-kafka-" + UUID.randomUUID();
            String second = "quota-kafka-" + UUID.randomUUID();
            kafka.send("steer.requests", first, ("{\"id\":\"" + first + "\",\"tenant\":\"quota-kafka\",\"prompt\":\"\"}").getBytes(StandardCharsets.UTF_8));
            assertEquals("INVALID_REQUEST", kafka.awaitRecord("steer.results", first, WAIT).json().path("error").path("code").asText());
            kafka.send("steer.requests", second, ("{\"id\":\"" + second + "\",\"tenant\":\"quota-kafka\",\"prompt\":\"Once\"}").getBytes(StandardCharsets.UTF_8));
            JsonNode result = kafka.awaitRecord("steer.results", second, WAIT).json();
            assertEquals("REJECTED", result.path("status").asText(), result.toString());
            assertEquals("QUOTA_EXCEEDED", result.path("error").path("code").asText());
            assertTrue(result.path("error").path("message").asText().contains("1 requests per minute"), result.toString());
            assertEquals(1, stored("quota-kafka", second), "a Kafka rejection is stored like any other");
            assertEquals(1, used("quota-kafka", "requests"));
        }
    }

    /**
     * Requests in flight count with their budgets: before, a tenant whose day had charged nothing yet was admitted any
     * number of requests at once (tokens are charged only when results arrive), overshooting its quota without bound.
     */
    @Test
    void requestsInFlightCountWithTheirBudgetsSoConcurrentOnesCannotOvershootTheDaysTokens() throws InterruptedException {
        awayFromTheEndOf(ChronoUnit.DAYS, Duration.ofMinutes(2));
        String tenant = "quota-inflight";
        // a request of 100 tokens still generating, as accept leaves it (stored behind the application's back, so that
        // no worker finishes it during the test)
        String pending = "inflight-" + UUID.randomUUID();
        QuarkusTransaction.requiringNew().run(() -> {
            Generation row = GatewayFaultsQuarkusTest.pendingRow(pending, Instant.now());
            row.tenant = tenant;
            row.jobJson = row.jobJson.replace("\"maxTokens\":4", "\"maxTokens\":100");
            row.persist();
        });
        String next = "inflight-" + UUID.randomUUID();
        Response refused = client(tenant).body("{\"id\":\"" + next + "\",\"prompt\":\"Once upon a time\",\"maxTokens\":4}")
                .post("/v1/generations");
        assertEquals(429, refused.statusCode(), refused.asString());
        assertEquals("QUOTA_EXCEEDED", refused.jsonPath().getString("code"));
        assertTrue(refused.jsonPath().getString("message").contains("reserved by its requests in flight"), refused.asString());
        // before, the day's end: a client that obeyed stayed away all day although the request in flight may use less
        assertEquals("5", refused.header("Retry-After"), "a budget in flight frees within seconds");
        assertEquals(0, used(tenant, "tokens"), "nothing charged yet: the refusal counts the budget in flight");
        assertEquals(0, stored(tenant, next));

        // once it ends (here: failed, having generated nothing), its budget is free again
        QuarkusTransaction.requiringNew().run(() -> Generation.update("status = ?1 where tenant = ?2 and requestId = ?3",
                Generation.State.FAILED, tenant, pending));
        client(tenant).body("{\"id\":\"" + next + "\",\"prompt\":\"Once upon a time\",\"maxTokens\":4,\"seed\":1}")
                .post("/v1/generations").then().statusCode(200).body("status", equalTo("COMPLETED"));
    }

    @Test
    void onceACompletionUsesTheDaysTokensTheNextRequestIsRefused() throws InterruptedException {
        awayFromTheEndOf(ChronoUnit.DAYS, Duration.ofMinutes(2));
        String id = "quota-tokens-" + UUID.randomUUID();
        Response done = client("quota-tokens").body("{\"id\":\"" + id + "\",\"prompt\":\"Once upon a time\",\"maxTokens\":4,\"seed\":1}")
                .post("/v1/generations");
        assertEquals(200, done.statusCode(), done.asString());
        long tokens = done.jsonPath().getLong("usage.completionTokens");
        assertTrue(tokens >= 1, done.asString());
        assertEquals(tokens, used("quota-tokens", "tokens"), "the completion's tokens are charged");

        Response refused = client("quota-tokens").body("{\"id\":\"" + id + "-next\",\"prompt\":\"Once upon a time\",\"maxTokens\":4}")
                .post("/v1/generations");
        assertEquals(429, refused.statusCode(), refused.asString());
        assertEquals("QUOTA_EXCEEDED", refused.jsonPath().getString("code"));
        assertTrue(refused.jsonPath().getString("message").contains("1 completion tokens per day"), refused.asString());
        long retryAfter = Long.parseLong(refused.header("Retry-After"));
        assertTrue(retryAfter >= 1 && retryAfter <= 86_400, "Retry-After " + retryAfter + " s is within the day");
        assertEquals(0, stored("quota-tokens", id + "-next"));
        // the completed id is still answered, and another tenant still generates
        client("quota-tokens").body("{\"id\":\"" + id + "\",\"prompt\":\"Once upon a time\",\"maxTokens\":4,\"seed\":1}")
                .post("/v1/generations").then().statusCode(200).body("text", equalTo(done.jsonPath().getString("text")));
        client("story-app").body("{\"id\":\"" + id + "\",\"prompt\":\"Once upon a time\",\"maxTokens\":4}")
                .post("/v1/generations").then().statusCode(200).body("status", containsString("COMPLETED"));
    }
}
