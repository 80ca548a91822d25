package io.steergate.audit;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.restassured.specification.RequestSpecification;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.TopicClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The audit API over records produced by the real pipeline (Kafka in, worker, audit, Kafka out). */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class AuditQuarkusTest {

    static final Duration WAIT = Duration.ofSeconds(60);
    static final String PROMPT = "Once upon a time, there was a little boy named Tim. One day, he";
    static final String TENANT = "audit-t1";

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    TopicClient kafka;

    @BeforeEach
    void connect() {
        kafka = new TopicClient(bootstrapServers);
        await().atMost(WAIT).until(() -> given().get("/v1/policies").jsonPath().getList("id").contains("kids-platform"));
    }

    @AfterEach
    void disconnect() {
        kafka.close();
    }

    JsonNode send(String id, String tenant, String extra) {
        String body = "{\"id\":\"" + id + "\",\"tenant\":\"" + tenant + "\",\"prompt\":\"" + PROMPT
                + "\",\"maxTokens\":12,\"seed\":5" + extra + "}";
        kafka.send("steer.requests", id, body.getBytes(StandardCharsets.UTF_8));
        return kafka.awaitRecord("steer.results", id, WAIT).json();
    }

    static JsonPath list(Map<String, ?> params) {
        RequestSpecification request = given();
        params.forEach(request::queryParam);
        return request.get("/v1/audit").then().statusCode(200).extract().jsonPath();
    }

    @Test
    void recordsAreFilteredPagedAndReviewed() {
        String from = Instant.now().minusMillis(1).toString();
        List<String> ours = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String id = "audit-" + UUID.randomUUID();
            ours.add(id);
            assertEquals("COMPLETED", send(id, TENANT, "").get("status").asText());
        }
        String kids = "audit-kids-" + UUID.randomUUID();
        JsonNode kidsResult = send(kids, "kids-co", ",\"labels\":{\"channel\":\"kids\"}");
        assertEquals("no-dogs", kidsResult.at("/applied/1/intervention").asText(), kidsResult.toString());

        // tenant (and time range) filter: exactly our three, newest first
        JsonPath byTenant = list(Map.of("tenant", TENANT, "from", from));
        assertEquals(List.of(ours.get(2), ours.get(1), ours.get(0)), byTenant.getList("items.requestId"), byTenant.prettify());
        assertNull(byTenant.get("nextCursor"));
        assertEquals("default", byTenant.getString("items[0].policy.id"));
        assertNotNull(byTenant.get("items[0].model.fingerprint"));
        assertEquals(0, byTenant.getList("items[0].applied").size());
        assertNull(byTenant.get("items[0].latestVerdict"));
        assertNull(byTenant.get("items[0].error"));
        assertTrue(byTenant.getString("items[0].recordedAt").compareTo(from) > 0);
        List<String> before = list(Map.of("tenant", TENANT, "to", from, "limit", "500")).getList("items.requestId");
        assertTrue(before.stream().noneMatch(ours::contains), before.toString());

        // intervention filter
        JsonPath noDogs = list(Map.of("intervention", "no-dogs", "from", from));
        assertTrue(noDogs.getList("items.requestId").contains(kids), noDogs.prettify());
        assertEquals("no-dogs", noDogs.getString("items.find { it.requestId == '" + kids + "' }.applied[1].intervention"));
        assertEquals(0, list(Map.of("intervention", "no-dogs", "tenant", TENANT)).getList("items").size());

        // paging with limit=1 walks all three without repeats
        List<String> walked = new ArrayList<>();
        Set<String> cursors = new HashSet<>();
        String cursor = null;
        do {
            Map<String, String> params = cursor == null ? Map.of("tenant", TENANT, "from", from, "limit", "1")
                    : Map.of("tenant", TENANT, "from", from, "limit", "1", "cursor", cursor);
            JsonPath page = list(params);
            assertEquals(1, page.getList("items").size(), page.prettify());
            walked.add(page.getString("items[0].requestId"));
            cursor = page.getString("nextCursor");
            assertTrue(cursor == null || cursors.add(cursor));
        } while (cursor != null && walked.size() < 10);
        assertEquals(List.of(ours.get(2), ours.get(1), ours.get(0)), walked);

        // a review: the latest verdict counts
        long reviewed = byTenant.getLong("items[1].id");
        given().contentType("application/json").body("{\"verdict\":\"ok\",\"note\":\"a\\u0000b\"}")
                .post("/v1/audit/" + reviewed + "/review").then().statusCode(400)
                .body("code", equalTo("INVALID_REQUEST")).body("message", containsString("U+0000"));
        given().contentType("application/json").body("{\"verdict\":\"ok\"}")
                .post("/v1/audit/" + reviewed + "/review").then().statusCode(201).body("verdict", equalTo("ok"));
        given().contentType("application/json").body("{\"verdict\":\"violation\",\"note\":\"mean\"}")
                .post("/v1/audit/" + reviewed + "/review").then().statusCode(201)
                .body("auditId", equalTo((int) reviewed)).body("reviewer", startsWith("key:")).body("note", equalTo("mean"));
        JsonPath violations = list(Map.of("tenant", TENANT, "from", from, "verdict", "violation"));
        assertEquals(List.of(ours.get(1)), violations.getList("items.requestId"));
        assertEquals("violation", violations.getString("items[0].latestVerdict"));
        assertEquals(0, list(Map.of("tenant", TENANT, "from", from, "verdict", "ok")).getList("items").size());
        assertEquals(List.of(ours.get(2), ours.get(0)),
                list(Map.of("tenant", TENANT, "from", from, "verdict", "unreviewed")).getList("items.requestId"));

        // one record whole
        JsonPath detail = given().get("/v1/audit/" + reviewed).then().statusCode(200).extract().jsonPath();
        assertEquals(ours.get(1), detail.getString("requestId"));
        assertEquals("violation", detail.getString("latestVerdict"));
        assertEquals(List.of("ok", "violation"), detail.getList("reviews.verdict"));
        assertTrue(detail.getList("reviews.reviewer", String.class).stream().allMatch(r -> r.startsWith("key:")), detail.prettify());
        assertNotNull(detail.getList("decisionTrace"), detail.prettify());
        long kidsId = noDogs.getLong("items.find { it.requestId == '" + kids + "' }.id");
        JsonPath kidsDetail = given().get("/v1/audit/" + kidsId).then().statusCode(200).extract().jsonPath();
        assertTrue(kidsDetail.getList("decisionTrace").toString().contains("always-kind"), kidsDetail.prettify());
        assertEquals(0, kidsDetail.getList("reviews").size());

        // scorer range
        JsonPath meanness = list(Map.of("from", from, "scorer", "meanness", "minScore", "0", "maxScore", "1"));
        assertTrue(meanness.getList("items.requestId").containsAll(ours), meanness.prettify());
        assertTrue(meanness.getList("items.requestId").contains(kids), meanness.prettify());
        assertEquals(0, list(Map.of("from", from, "scorer", "meanness", "minScore", "1.5")).getList("items").size());
        assertEquals(0, list(Map.of("from", from, "scorer", "no-such-scorer")).getList("items").size());
    }

    @Test
    void badParametersAreRefusedByName() {
        Map<String, Map<String, String>> bad = Map.of(
                "from", Map.of("from", "yesterday"),
                "to", Map.of("to", "2025-13-01T00:00:00Z"),
                "limit", Map.of("limit", "501"),
                "minScore", Map.of("minScore", "0.5"),
                "verdict", Map.of("verdict", "maybe"),
                "cursor", Map.of("cursor", "not-a-cursor"),
                "intervention", Map.of("intervention", "No Dogs"));
        bad.forEach((name, params) -> {
            RequestSpecification request = given();
            params.forEach(request::queryParam);
            request.get("/v1/audit").then().statusCode(400)
                    .body("code", equalTo("INVALID_REQUEST")).body("message", containsString(name));
        });
        given().queryParam("limit", "0").get("/v1/audit").then().statusCode(400).body("message", containsString("limit"));
        given().queryParam("scorer", "meanness").queryParam("maxScore", "x").get("/v1/audit").then().statusCode(400)
                .body("message", containsString("maxScore"));

        given().get("/v1/audit/999999999").then().statusCode(404).body("code", equalTo("NOT_FOUND"));
        given().contentType("application/json").body("{\"verdict\":\"ok\"}")
                .post("/v1/audit/999999999/review").then().statusCode(404).body("code", equalTo("NOT_FOUND"));

        long any = list(Map.of("limit", "1")).getLong("items[0].id");
        given().contentType("application/json").body("{\"verdict\":\"bad\"}")
                .post("/v1/audit/" + any + "/review").then().statusCode(400).body("message", containsString("verdict"));
        // who reviewed is the credential's name: a body that claims a reviewer is refused
        given().contentType("application/json").body("{\"verdict\":\"ok\",\"reviewer\":\"ann\"}")
                .post("/v1/audit/" + any + "/review").then().statusCode(400).body("message", containsString("reviewer"));
        given().get("/v1/audit").then().statusCode(200).body("items", org.hamcrest.Matchers.notNullValue());
        given().get("/v1/audit/" + any).then().statusCode(200).body("id", equalTo((int) any)).body("reviews", org.hamcrest.Matchers.notNullValue());
        given().queryParam("tenant", "nobody-here").get("/v1/audit").then().statusCode(200).body("nextCursor", nullValue());
    }
}
