package io.steergate.security;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import io.steergate.gateway.Generation;
import io.steergate.testing.DefaultCredential;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.TestTokens;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * OWASP API Security Top 10 cases over HTTP: object-level access across tenants (generations, audit records; prompt
 * sets and retraining jobs are operator-only, see {@link AccessMatrixQuarkusTest}), broken authentication (missing,
 * garbage, unknown, expired and revoked keys; tokens expired, of another issuer or signed by another key), and mass
 * assignment (tenant, reviewer, createdBy).
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class TenantIsolationQuarkusTest {

    @Inject
    ApiKeys keys;

    @ConfigProperty(name = "steergate.auth.bootstrap-dir")
    Path bootstrapDir;

    String key(String tenant, String role) {
        return issue(tenant, role).key();
    }

    ApiKeys.Issued issue(String tenant, String role) {
        return keys.issue(List.of(tenant), List.of(role), "isolation test", null, "test");
    }

    static RequestSpecification as(String credential) {
        return given().header("Authorization", "Bearer " + credential);
    }

    /** A request the policy-free checks reject at once (empty prompt): stored, audited, never generated. */
    static String rejectedBody(String id) {
        return "{\"id\":\"" + id + "\",\"prompt\":\"\"}";
    }

    @Test
    void oneIdOfTwoTenantsIsTwoGenerationsAndNeitherTenantSeesTheOther() {
        String acme = key("acme", Roles.CLIENT);
        String kids = key("kids-co", Roles.CLIENT);
        String id = "iso-" + UUID.randomUUID();

        as(kids).contentType("application/json").body(rejectedBody(id)).post("/v1/generations")
                .then().statusCode(400).body("message", org.hamcrest.Matchers.containsString("prompt"));

        // acme reading kids-co's id: the same 404 as an id nobody sent
        Response other = as(acme).get("/v1/generations/" + id);
        Response never = as(acme).get("/v1/generations/" + id + "-never");
        assertEquals(404, other.statusCode());
        assertEquals(404, never.statusCode());
        assertEquals(never.asString().replace(id + "-never", id), other.asString());
        // naming the other tenant does not help
        as(acme).queryParam("tenant", "kids-co").get("/v1/generations/" + id).then().statusCode(404);

        // acme posting kids-co's id makes acme's own request, answered with acme's own outcome
        as(acme).contentType("application/json").body("{\"id\":\"" + id + "\",\"prompt\":\"Once\",\"maxTokens\":0}")
                .post("/v1/generations").then().statusCode(400).body("message", org.hamcrest.Matchers.containsString("maxTokens"));
        JsonPath acmeRow = as(acme).get("/v1/generations/" + id).then().statusCode(200).extract().jsonPath();
        assertEquals("acme", acmeRow.getString("tenant"));
        JsonPath kidsRow = as(kids).get("/v1/generations/" + id).then().statusCode(200).extract().jsonPath();
        assertEquals("kids-co", kidsRow.getString("tenant"));
        assertTrue(kidsRow.getString("error.message").contains("prompt"), kidsRow.prettify());
        assertEquals(2L, QuarkusTransaction.requiringNew().call(() -> Generation.count("requestId", id)));
    }

    @Test
    void aBodyNamingAnotherTenantIsRefusedTenantMismatch() {
        String acme = key("acme", Roles.CLIENT);
        String id = "iso-" + UUID.randomUUID();
        as(acme).contentType("application/json").body("{\"id\":\"" + id + "\",\"tenant\":\"kids-co\",\"prompt\":\"Once\"}")
                .post("/v1/generations").then().statusCode(403).body("code", equalTo("TENANT_MISMATCH"));
        assertEquals(0L, QuarkusTransaction.requiringNew().call(() -> Generation.count("requestId", id)), "nothing stored");
        // naming its own tenant is fine (rejected here only for the empty prompt)
        as(acme).contentType("application/json").body("{\"id\":\"" + id + "\",\"tenant\":\"acme\",\"prompt\":\"\"}")
                .post("/v1/generations").then().statusCode(400).body("code", equalTo("INVALID_REQUEST"));
    }

    @Test
    void auditRecordsAndReviewsStayWithinTheCallersTenants() {
        String kidsClient = key("kids-co", Roles.CLIENT);
        String id = "iso-audit-" + UUID.randomUUID();
        as(kidsClient).contentType("application/json").body(rejectedBody(id)).post("/v1/generations").then().statusCode(400);
        long kidsRecord = given().queryParam("tenant", "kids-co").queryParam("limit", "500").get("/v1/audit")
                .then().statusCode(200).extract().jsonPath().getLong("items.find { it.requestId == '" + id + "' }.id");

        String acmeAuditor = key("acme", Roles.AUDITOR);
        String acmeReviewer = key("acme", Roles.REVIEWER);
        Response other = as(acmeAuditor).get("/v1/audit/" + kidsRecord);
        Response never = as(acmeAuditor).get("/v1/audit/999999998");
        assertEquals(404, other.statusCode());
        assertEquals(never.asString().replace("999999998", String.valueOf(kidsRecord)), other.asString());
        as(acmeAuditor).queryParam("limit", "500").get("/v1/audit").then().statusCode(200)
                .body("items.tenant", not(hasItem("kids-co")));
        as(acmeAuditor).queryParam("tenant", "kids-co").get("/v1/audit").then().statusCode(403).body("code", equalTo("TENANT_MISMATCH"));
        as(acmeReviewer).contentType("application/json").body("{\"verdict\":\"violation\"}")
                .post("/v1/audit/" + kidsRecord + "/review").then().statusCode(404);

        // kids-co's own reviewer may, and is recorded as the credential, not as anything the body says
        ApiKeys.Issued reviewer = issue("kids-co", Roles.REVIEWER);
        String kidsReviewer = reviewer.key();
        String reviewerId = reviewer.view().id();
        as(kidsReviewer).contentType("application/json").body("{\"verdict\":\"ok\",\"reviewer\":\"someone-else\"}")
                .post("/v1/audit/" + kidsRecord + "/review").then().statusCode(400).body("message", org.hamcrest.Matchers.containsString("reviewer"));
        as(kidsReviewer).contentType("application/json").body("{\"verdict\":\"ok\"}")
                .post("/v1/audit/" + kidsRecord + "/review").then().statusCode(201).body("reviewer", equalTo("key:" + reviewerId));
    }

    @Test
    void missingGarbageUnknownExpiredAndRevokedCredentialsAreAll401() {
        ApiKeys.Issued toRevoke = issue("acme", Roles.CLIENT);
        ApiKeys.Issued toExpire = issue("acme", Roles.CLIENT);
        String revoked = toRevoke.key();
        String revokedId = toRevoke.view().id();
        String expired = toExpire.key();
        String expiredId = toExpire.view().id();
        as(revoked).get("/v1/interventions").then().statusCode(200);
        given().delete("/v1/keys/" + revokedId).then().statusCode(200).body("revokedAt", not(equalTo(null)));
        QuarkusTransaction.requiringNew().run(() -> ApiKey.update("expiresAt = ?1 where id = ?2", Instant.now().minusSeconds(1), expiredId));

        List<RequestSpecification> refused = List.of(
                given().header("Authorization", DefaultCredential.NONE),
                given().header("Authorization", "Basic YWRtaW46YWRtaW4="),
                given().header("Authorization", "Bearer"),
                given().header("Authorization", "Bearer garbage"),
                given().header("Authorization", "Bearer sgk_" + "A".repeat(43)),
                as(revoked),
                as(expired),
                as(TestTokens.sign("mallory", List.of("acme"), List.of("operator"), "https://other-issuer", Instant.now().plusSeconds(600))),
                as(TestTokens.sign("mallory", List.of("acme"), List.of("operator"), "https://idp.test.steergate.io", Instant.now().minusSeconds(600))));
        for (RequestSpecification request : refused) {
            Response answer = request.get("/v1/interventions");
            assertEquals(401, answer.statusCode(), answer.asString());
            assertEquals("UNAUTHENTICATED", answer.jsonPath().getString("code"));
        }
    }

    @Test
    void aTokenOfTheIdentityProviderMapsItsClaimsToTenantAndRoles() {
        String token = TestTokens.token("alice", List.of("acme"), List.of("client", "admin"));
        String id = "iso-jwt-" + UUID.randomUUID();
        as(token).contentType("application/json").body(rejectedBody(id)).post("/v1/generations").then().statusCode(400);
        as(token).get("/v1/generations/" + id).then().statusCode(200).body("tenant", equalTo("acme"));
        as(token).contentType("application/json").body("{\"id\":\"" + id + "\",\"tenant\":\"kids-co\",\"prompt\":\"x\"}")
                .post("/v1/generations").then().statusCode(403).body("code", equalTo("TENANT_MISMATCH"));
        // "admin" is no role of SteerGate's: it grants nothing
        as(token).get("/v1/keys").then().statusCode(403).body("code", equalTo("FORBIDDEN"));
    }

    @Test
    void writesThatNameTheirAuthorInTheRequestAreRefused() {
        given().contentType("application/octet-stream").body(new byte[0]).queryParam("createdBy", "someone-else")
                .post("/v1/interventions/iso-none/versions").then().statusCode(400)
                .body("message", org.hamcrest.Matchers.containsString("createdBy"));
        // training (and with it promote: true) is an operator's: a client is refused before the body is read
        as(key("acme", Roles.CLIENT)).contentType("application/json").body("{\"method\":\"mean-shift\",\"promote\":true}")
                .post("/v1/interventions/kindness/train").then().statusCode(403);
        as(key("acme", Roles.REVIEWER)).post("/v1/interventions/kindness/versions/1/promote").then().statusCode(403);
    }

    @Test
    void issuedKeysAreShownOnceAndStoredOnlyAsAHash() {
        JsonPath issued = given().contentType("application/json")
                .body("{\"tenants\":[\"acme\"],\"roles\":[\"auditor\"],\"description\":\"once\",\"expiresIn\":\"P1D\"}")
                .post("/v1/keys").then().statusCode(201).extract().jsonPath();
        String key = issued.getString("key");
        String id = issued.getString("id");
        assertTrue(key.startsWith("sgk_") && key.length() == 47, key);
        assertTrue(Instant.parse(issued.getString("expiresAt")).isAfter(Instant.now()));
        as(key).get("/v1/audit").then().statusCode(200);

        String listed = given().get("/v1/keys").then().statusCode(200).extract().asString();
        assertTrue(listed.contains(id) && !listed.contains(key), "listed without the key");
        ApiKey row = QuarkusTransaction.requiringNew().call(() -> ApiKey.<ApiKey>findById(id));
        assertEquals(ApiKeys.hash(key), row.keyHash);
        assertNotEquals(key, row.keyHash);
        assertFalse(row.keyHash.contains(key.substring(4)));
    }

    @Test
    void expiriesInstantsAndLimitsThatParseBadlyOrBeyondWhatTheDatabaseHoldsAreRefusedNamingTheField() {
        // each parses in Java; before, the first two overflowed Instant.plus and the third failed in PostgreSQL: 500s
        for (String[] bad : new String[][] {{"expiresIn", "PT9223372036854775807S"}, {"expiresIn", "P400000000000D"},
                {"expiresAt", "+300000-01-01T00:00:00Z"}, {"expiresIn", "-P1D"}, {"expiresIn", "PT0S"}}) {
            given().contentType("application/json")
                    .body("{\"tenants\":[\"acme\"],\"roles\":[\"auditor\"],\"" + bad[0] + "\":\"" + bad[1] + "\"}")
                    .post("/v1/keys").then().statusCode(400).body("code", org.hamcrest.Matchers.equalTo("INVALID_REQUEST"))
                    .body("message", org.hamcrest.Matchers.startsWith(bad[0] + ": "));
        }
        // a typed JAX-RS parameter that does not convert was a 404 "no such resource"
        for (String limit : List.of("ten", "99999999999", "0", "501")) {
            given().queryParam("limit", limit).get("/v1/retraining-triggers").then().statusCode(400)
                    .body("message", org.hamcrest.Matchers.equalTo("limit: must be a whole number from 1 to 500"));
        }
        given().queryParam("limit", "500").get("/v1/retraining-triggers").then().statusCode(200);
        for (String parameter : List.of("from", "to")) {
            given().queryParam(parameter, "+300000-01-01T00:00:00Z").get("/v1/audit").then().statusCode(400)
                    .body("message", org.hamcrest.Matchers.equalTo(parameter + ": must lie in the years 1 to 9999"));
        }
    }

    @Test
    void theFirstStartWroteAnOperatorKeyAndAClientKeyPerTenantReadableByTheOwnerOnly() throws Exception {
        Path operator = bootstrapDir.resolve(CredentialBootstrap.OPERATOR_FILE);
        Path acme = bootstrapDir.resolve("client-acme.key");
        for (Path file : List.of(operator, acme, bootstrapDir.resolve("client-kids-co.key"))) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)), file.toString());
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(bootstrapDir)));
        String operatorKey = Files.readString(operator).strip();
        String acmeKey = Files.readString(acme).strip();
        as(operatorKey).get("/v1/keys").then().statusCode(200);
        as(operatorKey).contentType("application/json").body(rejectedBody("boot-" + UUID.randomUUID()))
                .post("/v1/generations").then().statusCode(403);
        as(acmeKey).get("/v1/keys").then().statusCode(403);
        String id = "boot-" + UUID.randomUUID();
        as(acmeKey).contentType("application/json").body(rejectedBody(id)).post("/v1/generations").then().statusCode(400);
        as(acmeKey).get("/v1/generations/" + id).then().statusCode(200).body("tenant", equalTo("acme"));
    }
}
