package io.steergate.security;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import io.steergate.review.ReviewResource;
import io.steergate.testing.DefaultCredential;
import io.steergate.testing.HttpEndpoints;
import io.steergate.testing.HttpEndpoints.Endpoint;
import io.steergate.testing.ReviewPages;
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
import org.junit.jupiter.api.Test;

/**
 * Every HTTP endpoint ({@link HttpEndpoints}) against every role (a key of tenant acme holding that one role) and
 * against no credential: the expected status of each cell. A role the endpoint allows gets the endpoint's own answer to a request built to be
 * cheap (mostly 400 or 404); any other role gets 403 FORBIDDEN, no credential 401 UNAUTHENTICATED. The endpoint list
 * is checked against the OpenAPI document, so a new endpoint without a row here fails this test.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class AccessMatrixQuarkusTest {

    static final String TENANT = "acme";
    static final String NO_ROLE = "none";
    static final String JSON = HttpEndpoints.JSON;

    @Inject
    ApiKeys keys;

    @Test
    void everyEndpointAnswersEveryRoleAsTheMatrixSays() {
        assertEquals(Roles.ALL, HttpEndpoints.ROLES);
        Map<String, String> keyOf = new LinkedHashMap<>();
        for (String role : Roles.ALL) {
            keyOf.put(role, keys.issue(List.of(TENANT), List.of(role), "matrix " + role, null, "test").key());
        }
        keyOf.put(NO_ROLE, null);
        List<String> wrong = new ArrayList<>();
        for (Endpoint endpoint : HttpEndpoints.all()) {
            keyOf.forEach((role, key) -> {
                int expected = endpoint.expectedFor(key == null ? null : role);
                Response answer = call(endpoint, key);
                // the OpenAI-compatible paths answer OpenAI's {"error": {"code"}}
                String code = !answer.getContentType().startsWith(JSON) ? null
                        : answer.jsonPath().getString("code") != null ? answer.jsonPath().getString("code")
                        : answer.jsonPath().getString("error.code");
                boolean codeRight = expected == 401 ? "UNAUTHENTICATED".equals(code) : expected != 403 || "FORBIDDEN".equals(code);
                if (answer.statusCode() != expected || !codeRight) {
                    wrong.add(endpoint.method() + " " + endpoint.path() + " as " + role + ": expected " + expected + ", got "
                            + answer.statusCode() + " " + answer.asString());
                }
            });
        }
        assertEquals(List.of(), wrong);
    }

    /**
     * The review UI's pages (io.steergate.review): HTML, left out of the OpenAPI document, and opened only by a review
     * session (ReviewQuarkusTest covers the session itself). No bearer credential of any role opens one: each is sent
     * to the sign-in form, which only a reviewer's or an operator's key gets through (ReviewOperatorQuarkusTest covers
     * which pages each session role opens).
     */
    static final String A_JOB = "/review/retraining/00000000-0000-0000-0000-000000000001";
    static final List<List<String>> REVIEW_PAGES = List.of(List.of("GET", "/review"), List.of("GET", "/review/next"),
            List.of("GET", "/review/records/1"), List.of("GET", "/review/dashboard"), List.of("POST", "/review/sign-out"),
            List.of("POST", "/review/records/1/verdict"), List.of("POST", "/review/records/1/skip"),
            List.of("GET", "/review/retraining"), List.of("GET", A_JOB), List.of("POST", A_JOB + "/approve"),
            List.of("POST", A_JOB + "/reject"));

    @Test
    void theReviewPagesAreOpenedByAReviewOrOperatorSessionAndByNoBearerCredential() {
        List<String> wrong = new ArrayList<>();
        for (String role : Roles.ALL) {
            String key = keys.issue(List.of(TENANT), List.of(role), "matrix review " + role, null, "test").key();
            int signIn = ReviewPages.postSignIn(key).statusCode();
            if (signIn != (role.equals(Roles.REVIEWER) || role.equals(Roles.OPERATOR) ? 303 : 401)) {
                wrong.add("sign-in as " + role + ": " + signIn);
            }
            for (String credential : new String[] {"Bearer " + key, DefaultCredential.NONE}) {
                for (List<String> page : REVIEW_PAGES) {
                    RequestSpecification request = ReviewPages.page(null).header("Authorization", credential);
                    if (page.get(0).equals("POST")) {
                        request.contentType(ReviewPages.FORM).formParam("csrf", "x").formParam("verdict", "ok");
                    }
                    Response answer = request.request(page.get(0), page.get(1));
                    if (answer.statusCode() != 303 || !ReviewResource.SIGN_IN.equals(java.net.URI.create(answer.getHeader("Location")).getPath())) {
                        wrong.add(page + " as " + role + " (" + credential.split(" ")[0] + "): " + answer.statusCode() + " "
                                + answer.getHeader("Location"));
                    }
                }
            }
        }
        assertEquals(200, ReviewPages.page(null).header("Authorization", DefaultCredential.NONE).get(ReviewResource.SIGN_IN).statusCode());
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
        HttpEndpoints.all().forEach(e -> inMatrix.add(e.method() + " " + e.template()));
        assertEquals(documented, inMatrix);
    }

    @Test
    void theOpenApiDocumentAsksEveryOperationForTheBearerCredential() {
        JsonPath openApi = Management.given().accept(JSON).get("/q/openapi?format=json").then().statusCode(200).extract().jsonPath();
        assertEquals("http", openApi.getString("components.securitySchemes.bearer.type"));
        assertEquals("bearer", openApi.getString("components.securitySchemes.bearer.scheme"));
        Map<String, Map<String, Map<String, Object>>> paths = openApi.getMap("paths");
        List<String> unsecured = new ArrayList<>();
        paths.forEach((path, operations) -> operations.forEach((method, operation) -> {
            if (!String.valueOf(operation.get("security")).contains("bearer")) {
                unsecured.add(method.toUpperCase() + " " + path);
            }
        }));
        assertEquals(List.of(), unsecured, "operations without the bearer security requirement");
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
