package io.steergate.app;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import io.steergate.testing.SteerGateTestProfile;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A U+0000 (%00) in a request's path or query, which PostgreSQL text cannot hold: one 400 that names it, whichever
 * endpoint, before any reaches the database. Body fields are checked field by field where they are read.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class NulInRequestQuarkusTest {

    @Test
    void aNulInThePathOrTheQueryIsA400NamingIt() {
        List<Map.Entry<String, Response>> answers = List.of(
                Map.entry("path", given().urlEncodingEnabled(false).get("/v1/interventions/kind%00ness")),
                Map.entry("path", given().urlEncodingEnabled(false).get("/v1/generations/abc%00def")),
                Map.entry("path", given().urlEncodingEnabled(false).delete("/v1/keys/abc%00def")),
                Map.entry("path", given().urlEncodingEnabled(false).get("/v1/retraining-jobs/abc%00")),
                Map.entry("tenant", given().urlEncodingEnabled(false).get("/v1/audit?tenant=acme%00x")),
                Map.entry("query", given().urlEncodingEnabled(false).get("/v1/audit?ten%00ant=acme")));
        for (Map.Entry<String, Response> answer : answers) {
            assertEquals(400, answer.getValue().statusCode(), answer.getValue().asString());
            assertEquals("INVALID_REQUEST", answer.getValue().jsonPath().getString("code"));
            assertEquals(answer.getKey() + ": must not contain U+0000", answer.getValue().jsonPath().getString("message"));
        }
    }
}
