package io.steergate.security;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import io.steergate.testing.DefaultCredential;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.Management;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Every HTTP endpoint against every role (a key of tenant acme holding that one role) and against no credential: the
 * expected status of each cell. A role the endpoint allows gets the endpoint's own answer to a request built to be
 * cheap (mostly 400 or 404); any other role gets 403 FORBIDDEN, no credential 401 UNAUTHENTICATED. The endpoint list
 * is checked against the OpenAPI document, so a new endpoint without a row here fails this test.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class AccessMatrixQuarkusTest {

    static final String TENANT = "acme";
    static final String NO_ROLE = "none";

    @Inject
    ApiKeys keys;

    /** One endpoint: how to call it, which roles may, and what such a call answers. */
    record Endpoint(String method, String path, String template, String contentType, String body, Set<String> roles, int allowedStatus) {}

    static final Set<String> ALL_ROLES = Set.of(Roles.CLIENT, Roles.REVIEWER, Roles.AUDITOR, Roles.OPERATOR);
    static final Set<String> OPERATOR = Set.of(Roles.OPERATOR);
    static final String JSON = "application/json";
    static final String BYTES = "application/octet-stream";

    static List<Endpoint> endpoints() {
        String unknownJob = UUID.randomUUID().toString();
        return List.of(
                new Endpoint("POST", "/v1/generations", "/v1/generations", JSON,
                        "{\"id\":\"matrix-" + UUID.randomUUID() + "\",\"prompt\":\"\"}", Set.of(Roles.CLIENT), 400),
                new Endpoint("GET", "/v1/generations/matrix-none", "/v1/generations/{id}", null, null,
                        Set.of(Roles.CLIENT, Roles.OPERATOR), 404),
                new Endpoint("GET", "/v1/interventions", "/v1/interventions", null, null, ALL_ROLES, 200),
                new Endpoint("GET", "/v1/interventions/matrix-none", "/v1/interventions/{name}", null, null, ALL_ROLES, 404),
                new Endpoint("POST", "/v1/interventions/matrix-none/versions", "/v1/interventions/{name}/versions", BYTES, "",
                        OPERATOR, 422),
                new Endpoint("POST", "/v1/interventions/matrix-none/versions/1/promote",
                        "/v1/interventions/{name}/versions/{version}/promote", null, null, OPERATOR, 404),
                new Endpoint("POST", "/v1/interventions/matrix-none/versions/1/retire",
                        "/v1/interventions/{name}/versions/{version}/retire", null, null, OPERATOR, 404),
                new Endpoint("POST", "/v1/interventions/matrix-none/train", "/v1/interventions/{name}/train", JSON,
                        "{\"method\":\"no-such-method\",\"promote\":true}", OPERATOR, 400),
                new Endpoint("GET", "/v1/policies", "/v1/policies", null, null, OPERATOR, 200),
                new Endpoint("GET", "/v1/policies/default", "/v1/policies/{id}", null, null, OPERATOR, 200),
                new Endpoint("POST", "/v1/policies/validate", "/v1/policies/validate", BYTES, "id: [", OPERATOR, 422),
                new Endpoint("POST", "/v1/policies/reload", "/v1/policies/reload", null, null, OPERATOR, 200),
                new Endpoint("GET", "/v1/audit", "/v1/audit", null, null, Set.of(Roles.AUDITOR, Roles.REVIEWER, Roles.OPERATOR), 200),
                new Endpoint("GET", "/v1/audit/999999999", "/v1/audit/{id}", null, null,
                        Set.of(Roles.AUDITOR, Roles.REVIEWER, Roles.OPERATOR), 404),
                new Endpoint("POST", "/v1/audit/999999999/review", "/v1/audit/{id}/review", JSON, "{\"verdict\":\"ok\"}",
                        Set.of(Roles.REVIEWER), 404),
                new Endpoint("GET", "/v1/retraining-jobs", "/v1/retraining-jobs", null, null, OPERATOR, 200),
                new Endpoint("GET", "/v1/retraining-jobs/" + unknownJob, "/v1/retraining-jobs/{id}", null, null, OPERATOR, 404),
                new Endpoint("GET", "/v1/prompt-sets", "/v1/prompt-sets", null, null, OPERATOR, 200),
                new Endpoint("GET", "/v1/prompt-sets/matrix-none", "/v1/prompt-sets/{name}", null, null, OPERATOR, 404),
                new Endpoint("POST", "/v1/prompt-sets/matrix-none", "/v1/prompt-sets/{name}", BYTES, "not jsonl", OPERATOR, 400),
                new Endpoint("GET", "/v1/keys", "/v1/keys", null, null, OPERATOR, 200),
                new Endpoint("POST", "/v1/keys", "/v1/keys", JSON, "{\"tenants\":[],\"roles\":[\"client\"]}", OPERATOR, 400),
                new Endpoint("DELETE", "/v1/keys/matrix-none", "/v1/keys/{id}", null, null, OPERATOR, 404));
    }

    @Test
    void everyEndpointAnswersEveryRoleAsTheMatrixSays() {
        Map<String, String> keyOf = new LinkedHashMap<>();
        for (String role : Roles.ALL) {
            keyOf.put(role, keys.issue(List.of(TENANT), List.of(role), "matrix " + role, null, "test").key());
        }
        keyOf.put(NO_ROLE, null);
        List<String> wrong = new ArrayList<>();
        for (Endpoint endpoint : endpoints()) {
            keyOf.forEach((role, key) -> {
                int expected = key == null ? 401 : endpoint.roles().contains(role) ? endpoint.allowedStatus() : 403;
                Response answer = call(endpoint, key);
                String code = answer.getContentType().startsWith(JSON) ? answer.jsonPath().getString("code") : null;
                boolean codeRight = expected == 401 ? "UNAUTHENTICATED".equals(code) : expected != 403 || "FORBIDDEN".equals(code);
                if (answer.statusCode() != expected || !codeRight) {
                    wrong.add(endpoint.method() + " " + endpoint.path() + " as " + role + ": expected " + expected + ", got "
                            + answer.statusCode() + " " + answer.asString());
                }
            });
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void theMatrixNamesEveryEndpointOfTheOpenApiDocument() {
        JsonPath openApi = Management.given().accept(JSON).get("/q/openapi?format=json").then().statusCode(200).extract().jsonPath();
        Map<String, Map<String, Object>> paths = openApi.getMap("paths");
        Set<String> documented = new TreeSet<>();
        paths.forEach((path, operations) -> operations.keySet().stream()
                .filter(m -> Set.of("get", "post", "put", "delete", "patch").contains(m))
                .forEach(m -> documented.add(m.toUpperCase() + " " + path)));
        Set<String> inMatrix = new TreeSet<>();
        endpoints().forEach(e -> inMatrix.add(e.method() + " " + e.template()));
        assertEquals(documented, inMatrix);
    }

    @Test
    void theTestsDefaultCredentialCanBeLeftOffAndThenNothingUnderV1Answers() {
        Response answer = given().header("Authorization", DefaultCredential.NONE).get("/v1/interventions");
        assertEquals(401, answer.statusCode());
        assertEquals("Bearer", answer.getHeader("WWW-Authenticate"));
        assertTrue(answer.asString().contains("UNAUTHENTICATED"), answer.asString());
    }

    @Test
    void healthMetricsAndOpenApiAnswerOnTheManagementInterfaceOnly() {
        for (String path : List.of("/q/health/ready", "/q/metrics", "/q/openapi")) {
            assertEquals(404, given().get(path).statusCode(), "API port: " + path);
            assertEquals(200, Management.given().get(path).statusCode(), "management port: " + path);
        }
    }

    static Response call(Endpoint endpoint, String key) {
        RequestSpecification request = given().header("Authorization", key == null ? DefaultCredential.NONE : "Bearer " + key);
        if (endpoint.contentType() != null) {
            request.contentType(endpoint.contentType()).body(endpoint.body().getBytes(StandardCharsets.UTF_8));
        }
        return request.request(endpoint.method(), endpoint.path());
    }
}
