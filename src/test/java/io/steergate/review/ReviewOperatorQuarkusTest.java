package io.steergate.review;

import static io.restassured.RestAssured.given;
import static io.steergate.testing.ReviewPages.FORM;
import static io.steergate.testing.ReviewPages.csrf;
import static io.steergate.testing.ReviewPages.generate;
import static io.steergate.testing.ReviewPages.page;
import static io.steergate.testing.ReviewPages.postSignIn;
import static io.steergate.testing.ReviewPages.signIn;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.anyOf;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.steergate.messages.PolicyRef;
import io.steergate.policy.Policy;
import io.steergate.policy.PolicyEngine;
import io.steergate.security.ApiKeys;
import io.steergate.security.Roles;
import io.steergate.testing.ReviewPages;
import io.steergate.testing.SteerGateTestProfile;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The operators' side of the review UI and the queue's SQL selection, over HTTP on the real pipeline: operator
 * sign-in and the 403 of operator pages for reviewers, approving and rejecting a trained candidate through the UI,
 * the queue's filters (checked against the Java decision of the policy engine), and the sign-in rate limit.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class ReviewOperatorQuarkusTest {

    static final Duration WAIT = Duration.ofSeconds(90);

    @Inject
    ApiKeys keys;

    @Inject
    PolicyEngine policies;

    @BeforeEach
    void policiesLoaded() {
        await().atMost(Duration.ofSeconds(60)).until(() -> given().get("/v1/policies").jsonPath().getList("id").contains("storytelling"));
    }

    String key(List<String> tenants, String... roles) {
        return keys.issue(tenants, List.of(roles), "operator UI test", null, "test").key();
    }

    @Test
    void operatorsSignInAndReviewersGet403OnTheOperatorPages() {
        String reviewer = signIn(key(List.of("story-app-beta"), Roles.REVIEWER));
        String csrf = csrf(page(reviewer).get("/review").asString());
        String job = UUID.randomUUID().toString();
        List<Response> refused = List.of(page(reviewer).get("/review/retraining"), page(reviewer).get("/review/retraining/" + job),
                page(reviewer).contentType(FORM).formParam("csrf", csrf).post("/review/retraining/" + job + "/approve"),
                page(reviewer).contentType(FORM).formParam("csrf", csrf).post("/review/retraining/" + job + "/reject"));
        for (Response answer : refused) {
            assertEquals(403, answer.statusCode(), answer.asString());
            assertTrue(answer.asString().contains("This page needs the operator role"), answer.asString());
        }
        assertFalse(page(reviewer).get("/review").asString().contains("/review/retraining"), "no link to what it may not open");

        String operator = signIn(key(List.of(Roles.ALL_TENANTS), Roles.OPERATOR));
        Response landing = page(operator).get("/review");
        assertEquals(303, landing.statusCode());
        assertTrue(landing.getHeader("Location").endsWith("/review/retraining"), landing.getHeader("Location"));
        assertEquals(200, page(operator).get("/review/retraining").statusCode());
        assertEquals(200, page(operator).get("/review/dashboard").statusCode());
        assertEquals(404, page(operator).get("/review/retraining/" + job).statusCode());
        // reviewing is the reviewer role's: an operator-only session may not claim records or post verdicts
        assertEquals(403, page(operator).get("/review/next").statusCode());
        String operatorCsrf = csrf(page(operator).get("/review/retraining").asString());
        assertEquals(403, page(operator).contentType(FORM).formParam("csrf", operatorCsrf).formParam("verdict", "ok")
                .post("/review/records/1/verdict").statusCode());
        // a key with both roles does both
        String both = signIn(key(List.of(Roles.ALL_TENANTS), Roles.REVIEWER, Roles.OPERATOR));
        assertEquals(200, page(both).get("/review").statusCode());
        assertEquals(200, page(both).get("/review/retraining").statusCode());
    }

    @Test
    void anOperatorApprovesOneCandidateAndRejectsAnotherThroughTheRegistry() throws IOException {
        importKindness();
        String name = "ui-kind-" + UUID.randomUUID().toString().substring(0, 8);
        String first = train(name, "toxicity");
        JsonPath job = awaitSucceeded(first);
        // the loss curve: one point per step of this short training, ending at its last step
        assertEquals(12, job.getList("lossHistory").size(), job.prettify());
        assertEquals(12, job.getInt("lossHistory[11][0]"));
        assertEquals(job.getDouble("metrics.finalLoss"), job.getDouble("lossHistory[11][1]"), 1e-6);

        String operator = signIn(key(List.of(Roles.ALL_TENANTS), Roles.OPERATOR));
        String list = page(operator).get("/review/retraining?intervention=" + name).asString();
        assertTrue(list.contains("data-job=\"" + first + "\""), list);
        assertTrue(list.contains("awaits approval"), list);
        String view = page(operator).get("/review/retraining/" + first).asString();
        assertTrue(view.contains("id=\"loss-chart\"") && view.contains("<svg"), view);
        assertTrue(view.contains("id=\"gate-none\""), view);
        assertTrue(view.contains("id=\"approve-form\""), view);

        // without the CSRF token nothing happens
        assertEquals(403, page(operator).contentType(FORM).post("/review/retraining/" + first + "/approve").statusCode());
        given().get("/v1/interventions/" + name).then().body("activeVersion", equalTo(null));
        Response approved = page(operator).contentType(FORM).formParam("csrf", csrf(view)).post("/review/retraining/" + first + "/approve");
        assertEquals(303, approved.statusCode(), approved.asString());
        given().get("/v1/interventions/" + name).then().body("activeVersion", equalTo(1));
        assertTrue(page(operator).get("/review/retraining/" + first).asString().contains("v1: active"));
        // decided: approving again is refused, naming why
        Response again = page(operator).contentType(FORM).formParam("csrf", csrf(view)).post("/review/retraining/" + first + "/approve");
        assertEquals(409, again.statusCode());
        assertTrue(again.asString().contains("version 1 is active, not a candidate"), again.asString());

        String second = train(name, null);
        awaitSucceeded(second);
        Response rejected = page(operator).contentType(FORM).formParam("csrf", csrf(view)).post("/review/retraining/" + second + "/reject");
        assertEquals(303, rejected.statusCode(), rejected.asString());
        given().get("/v1/interventions/" + name).then().body("activeVersion", equalTo(1))
                .body("versions.find { it.version == 2 }.status", equalTo("retired"));
    }

    @Test
    void theQueueSelectsInSqlWhatThePolicyEngineWouldAndItsFiltersNarrowIt() {
        // kids-co: kids-platform flags meanness over 0.05 and samples 5%; story-app-beta: storytelling samples all
        Map<Long, String> records = new LinkedHashMap<>();
        for (int i = 0; i < 6; i++) {
            records.put(generate("kids-co", ""), "kids-co");
        }
        long cheerful = generate("story-app-beta", ",\"styles\":[\"cheerful\"]");
        long plain = generate("story-app-beta", "");
        records.put(cheerful, "story-app-beta");
        records.put(plain, "story-app-beta");
        List<String> tenants = List.of("kids-co", "story-app-beta");
        String session = signIn(key(tenants, Roles.REVIEWER));
        for (Map.Entry<Long, String> record : records.entrySet()) {
            JsonPath detail = given().get("/v1/audit/" + record.getKey()).then().statusCode(200).extract().jsonPath();
            Map<String, Double> scores = new HashMap<>();
            Map<String, Object> raw = detail.getMap("scores");
            if (raw != null) {
                raw.forEach((k, v) -> scores.put(k, ((Number) v).doubleValue()));
            }
            String policyId = detail.getString("policy.id");
            List<String> flagged = policies.flagged(new PolicyRef(policyId, detail.getString("policy.version")), scores);
            Policy.ReviewSampling sampling = policies.policy(policyId).orElseThrow().review();
            boolean expected = ReviewQueue.wantedReviews(record.getKey(), !flagged.isEmpty(), sampling) > 0;
            String view = page(session).get("/review/records/" + record.getKey()).asString();
            assertEquals(expected, view.contains("In your queue"), record + " " + scores + " " + flagged + ": " + view);
            long first = nextFor(tenants, "flagged=true&tenant=" + record.getValue(), record.getKey() - 1);
            assertEquals(!flagged.isEmpty(), first == record.getKey(), record + " " + scores + " flagged only: " + first);
        }
        assertEquals(cheerful, nextFor(tenants, "tenant=story-app-beta&intervention=cheerful", cheerful - 1));
        assertNotEquals(plain, nextFor(tenants, "tenant=story-app-beta&intervention=cheerful", plain - 1));
        assertEquals(plain, nextFor(tenants, "tenant=story-app-beta&policy=storytelling", plain - 1));
        long other = nextFor(tenants, "policy=kids-platform", cheerful - 1);
        assertTrue(other != cheerful && other != plain, String.valueOf(other));
        assertEquals(400, page(session).get("/review?policy=Not_A_Policy").statusCode());
        // before: JAX-RS could not convert the parameter and answered 404, as if the queue did not exist
        for (String after : List.of("abc", "-1", "99999999999999999999")) {
            Response bad = page(session).get("/review/next?after=" + after);
            assertEquals(400, bad.statusCode(), after);
            assertTrue(bad.asString().contains("after: must be a record id"), bad.asString());
        }
        assertEquals(200, page(session).get("/review?tenant=story-app-beta&intervention=cheerful&policy=storytelling&flagged=true")
                .statusCode());

        // the filter goes along: next, the record's forms, and the next record after a verdict (a fresh record: the
        // probes above hold the earlier ones)
        long fresh = generate("story-app-beta", ",\"styles\":[\"cheerful\"]");
        Response next = page(session).get("/review/next?after=" + (fresh - 1) + "&tenant=story-app-beta&intervention=cheerful");
        assertEquals(303, next.statusCode());
        String location = next.getHeader("Location");
        assertTrue(location.endsWith("/records/" + fresh + "?tenant=story-app-beta&intervention=cheerful"), location);
        String recordPage = page(session).get(location).asString();
        assertTrue(recordPage.contains("name=\"intervention\" value=\"cheerful\""), recordPage);
        long held = Long.parseLong(location.replaceAll(".*/records/(\\d+)\\?.*", "$1"));
        // assignment still excludes: another session with the same filter does not get the held record
        String otherSession = signIn(key(List.of("story-app-beta"), Roles.REVIEWER));
        Response othersNext = page(otherSession).get("/review/next?tenant=story-app-beta&intervention=cheerful");
        assertFalse(othersNext.getHeader("Location").contains("/records/" + held + "?"), othersNext.getHeader("Location"));
        Response posted = page(session).contentType(FORM).formParam("csrf", csrf(recordPage)).formParam("verdict", "ok")
                .formParam("tenant", "story-app-beta").formParam("intervention", "cheerful").post("/review/records/" + held + "/verdict");
        assertEquals(303, posted.statusCode(), posted.asString());
        assertTrue(posted.getHeader("Location").endsWith("after=" + held + "&tenant=story-app-beta&intervention=cheerful"),
                posted.getHeader("Location"));
    }

    /**
     * The record /review/next hands a fresh session of {@code tenants} with this filter after {@code after}, or -1:
     * the oldest queued record past it that the filter keeps (the session holds it afterwards, as any claim).
     */
    long nextFor(List<String> tenants, String filter, long after) {
        String session = signIn(key(tenants, Roles.REVIEWER));
        return ReviewPages.recordOf(page(session).get("/review/next?after=" + after + "&" + filter));
    }

    @Test
    void failedSignInsFromOneAddressAreAnsweredWith429AndRetryAfterUntilItsTokenIsBack() {
        String valid = key(List.of("story-app-beta"), Roles.REVIEWER);
        Response limited = null;
        for (int i = 0; i < 60 && limited == null; i++) {
            Response answer = postSignIn("sgk_wrong-" + i);
            if (answer.statusCode() == 429) {
                limited = answer;
            } else {
                assertEquals(401, answer.statusCode(), answer.asString());
            }
        }
        assertNotEquals(null, limited, "60 failed sign-ins were never limited");
        long retryAfter = Long.parseLong(limited.getHeader("Retry-After"));
        assertTrue(retryAfter >= 1 && retryAfter <= 6, String.valueOf(retryAfter));
        assertTrue(limited.asString().contains("Too many failed sign-ins. Try again in " + retryAfter + " s."), limited.asString());
        assertTrue(limited.asString().contains("id=\"sign-in-form\""), limited.asString());
        // while limited even a valid key is refused, without a session
        Response validButLimited = postSignIn(valid);
        assertEquals(429, validButLimited.statusCode());
        assertEquals(null, validButLimited.getCookie(ReviewResource.SESSION_COOKIE));
        // once a token is back the valid key signs in, which forgives the address for the tests that follow
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> postSignIn(valid).statusCode() == 303);
    }

    static void importKindness() throws IOException {
        for (String side : new String[] {"source", "target"}) {
            given().body(Files.readString(Path.of("policies/prompts", "kindness." + side + ".jsonl"), StandardCharsets.UTF_8))
                    .contentType("text/plain").when().post("/v1/prompt-sets/kindness-" + side)
                    .then().statusCode(anyOf(equalTo(201), equalTo(200)));
        }
        await().atMost(WAIT).until(() -> given().get("/v1/interventions").statusCode() == 200);
    }

    /** A short LinEAS job on the kindness sets, not evaluated; its id. */
    static String train(String name, String kind) {
        Map<String, Object> body = new HashMap<>();
        body.put("method", "lineas");
        body.put("source", "kindness-source");
        body.put("target", "kindness-target");
        body.put("sites", "layers.0-1.resid");
        body.put("steps", 12);
        if (kind != null) {
            body.put("kind", kind);
            body.put("description", "test: the operator UI");
        }
        return given().body(body).contentType("application/json").when().post("/v1/interventions/" + name + "/train")
                .then().statusCode(202).extract().path("id");
    }

    static JsonPath awaitSucceeded(String id) {
        JsonPath[] job = new JsonPath[1];
        await().atMost(WAIT).pollInterval(Duration.ofMillis(300)).until(() -> {
            job[0] = given().get("/v1/retraining-jobs/" + id).then().statusCode(200).extract().jsonPath();
            return List.of("SUCCEEDED", "FAILED").contains(job[0].getString("status"));
        });
        assertEquals("SUCCEEDED", job[0].getString("status"), job[0].prettify());
        return job[0];
    }
}
