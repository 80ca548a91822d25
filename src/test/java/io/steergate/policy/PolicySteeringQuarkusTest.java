package io.steergate.policy;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.micrometer.core.instrument.MeterRegistry;
import io.restassured.path.json.JsonPath;
import io.steergate.audit.AuditRecord;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.gateway.Generation;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.TopicClient;
import jakarta.inject.Inject;
import io.steergate.testing.Management;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Each request steered by its tenant's policy, end to end over the real broker, PostgreSQL and model: the shipped
 * example policies (policies/) and the demo interventions imported on start (policies/interventions/).
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class PolicySteeringQuarkusTest {

    static final Duration WAIT = Duration.ofSeconds(60);
    static final String PROMPT = "Once upon a time, there was a little boy named Tim. One day, he";

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @Inject
    MeterRegistry metrics;

    TopicClient kafka;

    @BeforeEach
    void connect() {
        kafka = new TopicClient(bootstrapServers);
        // the demo interventions are imported once a worker registered its model; the policies follow on reload
        await().atMost(WAIT).until(() -> given().get("/v1/policies").jsonPath().getList("id").contains("kids-platform")
                && given().get("/v1/policies").jsonPath().getList("id").contains("storytelling"));
    }

    @AfterEach
    void disconnect() {
        kafka.close();
    }

    static String id(String what) {
        return what + "-" + UUID.randomUUID();
    }

    JsonNode send(String id, String tenant, String extra) {
        String body = "{\"id\":\"" + id + "\",\"tenant\":\"" + tenant + "\",\"prompt\":\"" + PROMPT
                + "\",\"maxTokens\":40,\"temperature\":0.8,\"seed\":11" + extra + "}";
        kafka.send("steer.requests", id, body.getBytes(StandardCharsets.UTF_8));
        return kafka.awaitRecord("steer.results", id, WAIT).json();
    }

    static int active(String intervention) {
        return given().get("/v1/interventions/" + intervention).jsonPath().getInt("activeVersion");
    }

    /** Each version in force is recorded with its exact text: what another gateway judges outputs under it by. */
    @Test
    void everyPolicyInForceIsRecordedWithItsText() throws IOException {
        JsonPath policies = given().get("/v1/policies").then().statusCode(200).extract().jsonPath();
        for (int i = 0; i < policies.getList("id").size(); i++) {
            String id = policies.getString("[" + i + "].id");
            String version = policies.getString("[" + i + "].version");
            String content = QuarkusTransaction.requiringNew().call(() -> PolicyVersionRecord
                    .<PolicyVersionRecord>find("policyId = ?1 and version = ?2", id, version).singleResult().content);
            assertEquals(version, "sha256:" + PolicyParser.sha256(content.getBytes(StandardCharsets.UTF_8)), id);
        }
    }

    @Test
    void aKidsPlatformRequestIsSteeredByItsPolicyAndTheAuditNamesTheExactPlan() {
        String steered = id("kids");
        JsonNode result = send(steered, "kids-co", ",\"labels\":{\"channel\":\"kids\"}");
        String plain = id("plain");
        JsonNode unsteered = send(plain, "acme", "");

        assertEquals("COMPLETED", result.get("status").asText(), result.toString());
        assertEquals("kids-platform", result.at("/policy/id").asText());
        assertEquals("kindness", result.at("/applied/0/intervention").asText());
        assertEquals(active("kindness"), result.at("/applied/0/version").asInt());
        assertEquals(1.0, result.at("/applied/0/strength").asDouble());
        assertEquals("no-dogs", result.at("/applied/1/intervention").asText());
        assertEquals(0.8, result.at("/applied/1/strength").asDouble(), 1e-9);
        assertTrue(result.at("/scores/meanness").isNumber() && result.at("/scores/dogs").isNumber(), result.toString());
        assertEquals("default", unsteered.at("/policy/id").asText());
        assertEquals(0, unsteered.get("applied").size());
        assertNotEquals(unsteered.get("text").asText(), result.get("text").asText(), "same prompt and seed, steered vs not");

        Management.given().get("/q/metrics").then().statusCode(200)
                .body(containsString("steergate_interventions_applied_total{intervention=\"no-dogs\""));

        AuditRecord audit = QuarkusTransaction.requiringNew().call(() -> AuditRecord.<AuditRecord>find("requestId", steered).singleResult());
        assertEquals("kids-platform", audit.policyId);
        assertEquals(result.at("/policy/version").asText(), audit.policyVersion);
        assertTrue(audit.appliedJson.contains("\"no-dogs\""), audit.appliedJson);
        assertTrue(audit.decisionTraceJson.contains("always-kind"), audit.decisionTraceJson);
        assertTrue(audit.scoresJson.contains("meanness"), audit.scoresJson);
    }

    @Test
    void withoutTheLabelOnlyTheAlwaysRuleApplies() {
        JsonNode result = send(id("kids-web"), "kids-co", ",\"labels\":{\"channel\":\"web\"}");
        assertEquals(1, result.get("applied").size(), result.toString());
        assertEquals("kindness", result.at("/applied/0/intervention").asText());
    }

    @Test
    void aStyleThePolicyDoesNotOfferIsRejectedWithTheReason() {
        JsonNode result = send(id("kids-style"), "kids-co", ",\"styles\":[\"cheerful\"]");
        assertEquals("REJECTED", result.get("status").asText());
        assertEquals("STYLE_NOT_ALLOWED", result.at("/error/code").asText());
        assertTrue(result.at("/error/message").asText().contains("cheerful"), result.toString());
        assertEquals("kids-platform", result.at("/policy/id").asText());

        JsonNode denied = send(id("kids-ask"), "kids-co", ",\"steering\":[{\"intervention\":\"cheerful\",\"strength\":0.5}]");
        assertEquals("POLICY_DENIED", denied.at("/error/code").asText(), denied.toString());
    }

    @Test
    void aStorytellingReaderGetsTheCheerfulStyleAtThePolicyStrength() {
        JsonNode result = send(id("story"), "story-app", ",\"styles\":[\"cheerful\"]");
        assertEquals("COMPLETED", result.get("status").asText(), result.toString());
        assertEquals("cheerful", result.at("/applied/0/intervention").asText());
        assertEquals(0.6, result.at("/applied/0/strength").asDouble(), 1e-9);
    }

    @Test
    void appliedInterventionsNoPolicyNamesAreCountedAsOtherNotOneSeriesEach() throws IOException {
        Intervention kindness = InterventionFile.read(Path.of("policies/interventions/kindness.safetensors"));
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String name = "explicit-" + UUID.randomUUID().toString().substring(0, 8);
            names.add(name);
            byte[] map = InterventionFile.write(new Intervention(name, kindness.method(), kindness.modelFingerprint(),
                    kindness.concept(), Map.of(), kindness.maps()));
            given().body(map).contentType("application/octet-stream").queryParam("kind", "style")
                    .post("/v1/interventions/" + name + "/versions").then().statusCode(201);
            given().post("/v1/interventions/" + name + "/versions/1/promote").then().statusCode(200);
        }
        double otherBefore = applied("other");
        for (String name : names) {
            // storytelling clamps explicit asks: any active intervention may be asked for by name
            JsonNode result = send(id("explicit"), "story-app", ",\"steering\":[{\"intervention\":\"" + name + "\"}]");
            assertEquals(name, result.at("/applied/0/intervention").asText(), result.toString());
        }

        assertEquals(otherBefore + 3, applied("other"));
        for (String name : names) {
            assertEquals(List.of(), metrics.find("steergate.interventions.applied").tag("intervention", name).counters());
        }
        Management.given().get("/q/metrics").then().statusCode(200)
                .body(containsString("steergate_interventions_applied_total{intervention=\"other\""));
    }

    private double applied(String intervention) {
        var counter = metrics.find("steergate.interventions.applied").tag("intervention", intervention).counter();
        return counter == null ? 0 : counter.count();
    }

    @Test
    void aPromotionTakesEffectForNewRequestsWhileEarlierOnesKeepTheirVersion() throws IOException {
        int before = active("kindness");
        JsonNode first = send(id("before-promotion"), "kids-co", "");
        assertEquals(before, first.at("/applied/0/version").asInt());

        byte[] map = Files.readAllBytes(Path.of("policies/interventions/kindness.safetensors"));
        int next = given().body(map).contentType("application/octet-stream")
                .post("/v1/interventions/kindness/versions").then().statusCode(201).extract().path("version");
        List<String> flowing = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            String id = id("flowing");
            flowing.add(id);
            kafka.send("steer.requests", id, ("{\"id\":\"" + id + "\",\"tenant\":\"kids-co\",\"prompt\":\"" + PROMPT
                    + "\",\"maxTokens\":8}").getBytes(StandardCharsets.UTF_8));
        }
        given().post("/v1/interventions/kindness/versions/" + next + "/promote").then().statusCode(200);
        JsonNode after = send(id("after-promotion"), "kids-co", "");
        assertEquals(next, after.at("/applied/0/version").asInt(), "new requests use the promoted version at once");

        // requests in flight across the promotion: each finishes with the version its plan named
        for (String id : flowing) {
            JsonNode result = kafka.awaitRecord("steer.results", id, WAIT).json();
            int used = result.at("/applied/0/version").asInt();
            assertTrue(used == before || used == next, result.toString());
            String jobJson = QuarkusTransaction.requiringNew().call(() -> Generation.byTenantAndRequestId("kids-co", id).orElseThrow().jobJson);
            assertTrue(jobJson.contains("\"intervention\":\"kindness\",\"version\":" + used), jobJson);
        }
        given().post("/v1/interventions/kindness/versions/" + before + "/promote").then().statusCode(200);
    }

    @Test
    void policiesAreListedAndAFileCanBeValidatedBeforeItIsDroppedIn() {
        JsonPath list = given().get("/v1/policies").then().statusCode(200).extract().jsonPath();
        assertTrue(list.getList("id").containsAll(List.of("default", "kids-platform", "storytelling")), list.prettify());
        given().get("/v1/policies/kids-platform").then().statusCode(200).body("tenants", hasItems("kids-co"));
        given().get("/v1/policies/nope").then().statusCode(404).body("code", equalTo("NOT_FOUND"));

        given().post("/v1/policies/reload").then().statusCode(200).body("refused.size()", equalTo(0))
                .body("unchanged", hasItems("kids-platform.yaml", "storytelling.yaml", "default.yaml"));

        String good = "id: trial\ntenants: [trial-co]\nrules:\n  - name: kind\n    apply: [{intervention: kindness, strength: 0.5}]\n";
        given().body(good).queryParam("file", "trial.yaml").post("/v1/policies/validate")
                .then().statusCode(200).body("valid", equalTo(true)).body("id", equalTo("trial"));
        String bad = "id: trial\ntenants: [trial-co]\nrules:\n  - name: kind\n    apply: [{intervention: kindnes, strength: 1.5}]\n";
        given().body(bad).queryParam("file", "trial.yaml").post("/v1/policies/validate")
                .then().statusCode(422).body("code", equalTo("POLICY_INVALID"))
                .body("errors[0]", containsString("trial.yaml:5:"))
                .body("message", containsString("error"));
    }
}
