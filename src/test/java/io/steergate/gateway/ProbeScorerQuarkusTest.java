package io.steergate.gateway;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.steergate.audit.AuditRecord;
import io.steergate.messages.Job;
import io.steergate.messages.ProbeRequest;
import io.steergate.policy.PolicyEngine;
import io.steergate.testing.SteerGateTestProfile;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A probe scorer end to end over real Kafka and PostgreSQL, with the shipped policy monitored-stories (unsteered; the
 * meanness lexicon at 0.05 and a meanness probe at layers.2.resid at 0.5): the job carries the probe, the real worker
 * trains it and reads it off the generation, and the gateway flags on its score and keeps it in the audit record.
 * The two prompts and seeds were chosen by running them once (stories260K at temperature 0.8): the first continuation
 * has no mean word and a probe score near 1, the second scores near 0.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class ProbeScorerQuarkusTest {

    static final Duration WAIT = Duration.ofSeconds(120);

    @Inject
    PolicyEngine policies;

    @Inject
    ObjectMapper json;

    @BeforeEach
    void policyInForce() {
        // the policy comes into force once the demo interventions are imported (a worker registered its model)
        await().atMost(Duration.ofSeconds(60)).until(() -> policies.policy("monitored-stories").isPresent());
    }

    @Test
    void aProbeOverItsThresholdFlagsTheOutputAndTheAuditRecordKeepsItsScore() throws Exception {
        String flaggedId = EscalationQuarkusTest.id("probe-flags");
        JsonNode flagged = generate(flaggedId, "Tom was angry at his sister. He", 3);
        assertEquals("COMPLETED", flagged.get("status").asText(), flagged.toString());
        double probe = flagged.at("/scores/meanness-probe").asDouble(-1);
        assertTrue(probe >= 0.5 && probe <= 1, "the probe's probability is the score: " + flagged);
        assertEquals(0.0, flagged.at("/scores/meanness").asDouble(-1), "no mean word: only the probe flags it");
        assertEquals(List.of("meanness-probe"), List.of(json.treeToValue(flagged.get("flagged"), String[].class)));

        Job job = json.readValue(EscalationQuarkusTest.row("monitored-co", flaggedId).jobJson, Job.class);
        assertEquals(1, job.probes().size());
        ProbeRequest asked = job.probes().get(0);
        assertEquals("meanness-probe", asked.name());
        assertEquals("kindness", asked.intervention());
        assertEquals("layers.2.resid", asked.site());

        AuditRecord audit = EscalationQuarkusTest.audit("monitored-co", flaggedId);
        JsonNode scores = json.readTree(audit.scoresJson);
        assertEquals(probe, scores.get("meanness-probe").asDouble(), 0.0, audit.scoresJson);
        assertEquals(0.0, scores.get("meanness").asDouble(), 0.0);
        given().get("/v1/audit/" + audit.id).then().statusCode(200)
                .body("scores.meanness-probe", org.hamcrest.Matchers.notNullValue());

        String quietId = EscalationQuarkusTest.id("probe-quiet");
        JsonNode quiet = generate(quietId, "Once upon a time", 1);
        assertEquals("COMPLETED", quiet.get("status").asText(), quiet.toString());
        assertTrue(quiet.at("/scores/meanness-probe").asDouble(-1) < 0.5, quiet.toString());
        assertNull(quiet.get("flagged"), quiet.toString());
    }

    private JsonNode generate(String id, String prompt, long seed) throws Exception {
        String body = json.writeValueAsString(java.util.Map.of("id", id, "tenant", "monitored-co", "prompt", prompt,
                "maxTokens", 32, "temperature", 0.8, "topP", 1.0, "seed", seed));
        String response = given().body(body).contentType("application/json").when().post("/v1/generations")
                .then().statusCode(200).extract().asString();
        JsonNode result = json.readTree(response);
        if (!"PENDING".equals(result.path("status").asText())) {
            return result;
        }
        await().atMost(WAIT).until(() -> !"PENDING".equals(json.readTree(given().queryParam("tenant", "monitored-co")
                .get("/v1/generations/" + id).asString()).path("status").asText()));
        return json.readTree(given().queryParam("tenant", "monitored-co").get("/v1/generations/" + id).asString());
    }
}
