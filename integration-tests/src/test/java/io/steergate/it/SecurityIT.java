package io.steergate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.steergate.testing.HttpEndpoints;
import io.steergate.testing.HttpEndpoints.Endpoint;
import io.steergate.testing.TestTokens;
import io.steergate.testing.TopicClient;

/**
 * The OWASP API Security Top 10 (2023), black box: the packaged application as an outside client meets it, on the real
 * broker and PostgreSQL, with the keys its first start wrote (as on the embedded default), keys it issues over HTTP, and
 * an identity provider of this suite's own (an RSA key pair; the application trusts its public half). Each test names
 * its category: API1 object-level authorization (no read across tenants, another tenant's id answers as one never
 * sent), API2 authentication (every bad credential is the same 401), API3 property-level authorization (no author,
 * tenant or result taken from a body), API4 resource consumption (quota, body size), API5 function-level authorization
 * (the role matrix), API8 misconfiguration (loopback, management interface, error bodies, headers), API9 inventory
 * (the OpenAPI document against the matrix). One application process for the class; tenant quotait has a quota of 2
 * requests a minute, set through the environment as an operator would.
 */
class SecurityIT {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final String JSON = HttpEndpoints.JSON;
    private static final String ISSUER = "https://idp.security-it.steergate.io";
    /** A tenant name without a dash: SmallRye reads the map key of an environment variable unambiguously. */
    private static final String QUOTA_TENANT = "quotait";
    private static final int QUOTA_PER_MINUTE = 2;
    /** What no error body may show: a stack frame, an exception class, a Java package. */
    private static final Pattern INTERNALS = Pattern.compile(
            "\\tat |\\bat [a-z]+\\.[a-z]+\\.|Exception|\\bjava\\.|\\bjakarta\\.|\\bio\\.(steergate|quarkus|vertx|smallrye)\\.|com\\.fasterxml|org\\.(jboss|hibernate|postgresql|apache)");

    private static ItStack stack;
    private static AppProcess app;
    private static KeyPair identityProvider;

    @BeforeAll
    static void startStack() throws NoSuchAlgorithmException {
        identityProvider = rsaKeyPair();
        stack = ItStack.start();
        app = stack.app("security", Map.of(
                "STEERGATE_AUTH_BOOTSTRAP_TENANTS", "acme,kids-co,story-app," + QUOTA_TENANT,
                "STEERGATE_QUOTAS_TENANTS_" + QUOTA_TENANT.toUpperCase() + "_REQUESTS_PER_MINUTE", String.valueOf(QUOTA_PER_MINUTE),
                "MP_JWT_VERIFY_PUBLICKEY", Base64.getEncoder().encodeToString(identityProvider.getPublic().getEncoded()),
                "MP_JWT_VERIFY_ISSUER", ISSUER)).start();
    }

    @AfterAll
    static void stopStack() {
        ItStack.close(stack, app);
    }

    // API5: broken function level authorization

    @Test
    void api5EveryEndpointAnswersEveryRoleAsTheMatrixSays() throws Exception {
        Map<String, String> keyOf = new LinkedHashMap<>();
        for (String role : HttpEndpoints.ROLES) {
            keyOf.put(role, issueKey(List.of("acme"), role, "PT1H").key);
        }
        keyOf.put("no credential", null);
        List<String> wrong = new ArrayList<>();
        for (Endpoint endpoint : HttpEndpoints.all()) {
            for (Map.Entry<String, String> caller : keyOf.entrySet()) {
                int expected = endpoint.expectedFor(caller.getValue() == null ? null : caller.getKey());
                HttpResponse<String> answer = call(endpoint.method(), endpoint.path(), caller.getValue(), endpoint.contentType(), endpoint.body());
                String expectedCode = expected == 401 ? "UNAUTHENTICATED" : expected == 403 ? "FORBIDDEN" : null;
                if (answer.statusCode() != expected || (expectedCode != null && !expectedCode.equals(code(answer)))) {
                    wrong.add(endpoint.method() + " " + endpoint.path() + " as " + caller.getKey() + ": expected " + expected
                            + (expectedCode == null ? "" : " " + expectedCode) + ", got " + answer.statusCode() + " " + answer.body());
                }
            }
        }
        assertEquals(List.of(), wrong);
    }

    // API9: improper inventory management

    @Test
    void api9EveryOperationOfTheOpenApiDocumentIsInTheMatrix() throws Exception {
        HttpResponse<String> document = HTTP.send(HttpRequest.newBuilder(URI.create(app.managementUrl() + "/q/openapi?format=json"))
                .header("Accept", JSON).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, document.statusCode());
        Set<String> documented = new TreeSet<>();
        Iterator<Map.Entry<String, JsonNode>> paths = json(document).path("paths").fields();
        while (paths.hasNext()) {
            Map.Entry<String, JsonNode> path = paths.next();
            for (String method : List.of("get", "post", "put", "delete", "patch")) {
                if (path.getValue().has(method)) {
                    documented.add(method.toUpperCase() + " " + path.getKey());
                }
            }
        }
        Set<String> inMatrix = new TreeSet<>();
        HttpEndpoints.all().forEach(e -> inMatrix.add(e.method() + " " + e.template()));
        assertEquals(inMatrix, documented);
    }

    // API1: broken object level authorization

    @Test
    void api1AnotherTenantsGenerationAnswersAsAnIdNobodySentWhetherReadNamedOrReplayed() throws Exception {
        String id = "owasp-gen-" + UUID.randomUUID();
        String never = id + "-never";
        String kids = app.clientKey("kids-co");
        String acme = app.clientKey("acme");
        HttpResponse<String> completed = call("POST", "/v1/generations", kids, JSON,
                "{\"id\":\"" + id + "\",\"prompt\":\"Once upon a time\",\"maxTokens\":4,\"seed\":1}");
        assertEquals(200, completed.statusCode(), completed.body());
        String kidsText = json(completed).path("text").asText();

        assertSameAnswer(get("/v1/generations/" + id, acme), get("/v1/generations/" + never, acme), id, never, 404);
        assertSameAnswer(get("/v1/generations/" + id + "?tenant=kids-co", acme), get("/v1/generations/" + never + "?tenant=kids-co", acme),
                id, never, 404);

        // acme posting kids-co's id is acme's own request, answered with acme's own outcome, as for an id nobody sent
        String replay = "{\"id\":\"%s\",\"prompt\":\"\"}";
        assertSameAnswer(call("POST", "/v1/generations", acme, JSON, String.format(replay, id)),
                call("POST", "/v1/generations", acme, JSON, String.format(replay, never)), id, never, 400);
        JsonNode acmeRow = json(get("/v1/generations/" + id, acme));
        assertEquals("acme", acmeRow.path("tenant").asText(), acmeRow.toString());
        assertEquals("REJECTED", acmeRow.path("status").asText(), acmeRow.toString());
        JsonNode kidsRow = json(get("/v1/generations/" + id, kids));
        assertEquals("kids-co", kidsRow.path("tenant").asText());
        assertEquals(kidsText, kidsRow.path("text").asText(), "kids-co's outcome is untouched by acme's request");

        // and a body naming the other tenant is refused, nothing stored
        String claimedId = "owasp-claim-" + UUID.randomUUID();
        HttpResponse<String> claimed = call("POST", "/v1/generations", acme, JSON,
                "{\"id\":\"" + claimedId + "\",\"tenant\":\"kids-co\",\"prompt\":\"Once\"}");
        assertEquals(403, claimed.statusCode(), claimed.body());
        assertEquals("TENANT_MISMATCH", code(claimed));
        assertEquals(404, get("/v1/generations/" + claimedId, kids).statusCode(), "nothing stored for kids-co");
        assertEquals(404, get("/v1/generations/" + claimedId, acme).statusCode(), "nothing stored for acme");
    }

    @Test
    void api1AuditRecordsReviewsAndEvidenceOfAnotherTenantAreOutOfReach() throws Exception {
        String kidsRecord = auditRecordOf("kids-co");
        String neverRecord = "999999999";
        String acmeAuditor = issueKey(List.of("acme"), "auditor", "PT1H").key;
        String acmeReviewer = issueKey(List.of("acme"), "reviewer", "PT1H").key;
        String operator = app.operatorKey();

        for (String acme : List.of(acmeAuditor, acmeReviewer)) {
            assertSameAnswer(get("/v1/audit/" + kidsRecord, acme), get("/v1/audit/" + neverRecord, acme), kidsRecord, neverRecord, 404);
            // the lists (the review queue among them) hold acme's records only, and naming kids-co is refused
            for (String query : List.of("?limit=500", "?limit=500&verdict=unreviewed")) {
                HttpResponse<String> listed = get("/v1/audit" + query, acme);
                assertEquals(200, listed.statusCode(), listed.body());
                for (JsonNode item : json(listed).path("items")) {
                    assertEquals("acme", item.path("tenant").asText(), item.toString());
                }
            }
            assertSameAnswer(get("/v1/audit?tenant=kids-co", acme), get("/v1/audit?tenant=nobodyelse", acme), "kids-co", "nobodyelse", 403);
            assertEquals("TENANT_MISMATCH", code(get("/v1/audit?tenant=kids-co", acme)));
        }
        // a verdict on another tenant's record: as on a record that does not exist
        String verdict = "{\"verdict\":\"violation\"}";
        assertSameAnswer(call("POST", "/v1/audit/" + kidsRecord + "/review", acmeReviewer, JSON, verdict),
                call("POST", "/v1/audit/" + neverRecord + "/review", acmeReviewer, JSON, verdict), kidsRecord, neverRecord, 404);
        JsonNode detail = json(get("/v1/audit/" + kidsRecord, operator));
        assertEquals(0, detail.path("reviews").size(), "acme's reviewer left no verdict on kids-co's record: " + detail);

        // verify and export: an auditor of acme gets acme's chain only, not kids-co's nor the tenant-less one
        for (String path : List.of("/v1/audit/verify", "/v1/audit/export")) {
            HttpResponse<String> own = get(path + "?tenant=acme", acmeAuditor);
            assertEquals(200, own.statusCode(), own.body());
            assertFalse(own.body().contains("\"kids-co\""), path + " of acme shows nothing of kids-co");
            assertSameAnswer(get(path + "?tenant=kids-co", acmeAuditor), get(path + "?tenant=nobodyelse", acmeAuditor),
                    "kids-co", "nobodyelse", 403);
            assertEquals(403, get(path + "?tenant=", acmeAuditor).statusCode(), path + ": the chain without a tenant is an operator's");
            assertEquals(200, get(path + "?tenant=kids-co", operator).statusCode(), path + ": an operator reads every tenant");
            HttpResponse<String> tenantless = get(path + "?tenant=", operator);
            assertEquals(200, tenantless.statusCode(), path + ": and the chain without a tenant: " + tenantless.body());
        }
        assertTrue(json(get("/v1/audit/verify?tenant=kids-co", operator)).path("ok").asBoolean());
    }

    @Test
    void api1PromptSetsAndRetrainingJobsAreTheOperatorsOnly() throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        String source = "owasp-src-" + suffix;
        String target = "owasp-tgt-" + suffix;
        IssuedKey operatorKey = issueKey(List.of("*"), "operator", "PT1H");
        String operator = operatorKey.key;
        HttpResponse<String> stored = call("POST", "/v1/prompt-sets/" + source, operator, HttpEndpoints.BYTES,
                "{\"text\":\"The dog ran home.\"}\n{\"text\":\"The cat sat down.\"}\n");
        assertEquals(201, stored.statusCode(), stored.body());
        assertEquals(201, call("POST", "/v1/prompt-sets/" + target, operator, HttpEndpoints.BYTES,
                "{\"text\":\"The dog was kind.\"}\n{\"text\":\"The cat was gentle.\"}\n").statusCode());
        HttpResponse<String> queued = call("POST", "/v1/interventions/owasp-" + suffix + "/train", operator, JSON,
                "{\"method\":\"mean-shift\",\"source\":\"" + source + "\",\"target\":\"" + target + "\",\"kind\":\"concept\","
                        + "\"requestedBy\":\"someone-else\"}");
        assertEquals(202, queued.statusCode(), queued.body());
        String job = json(queued).path("id").asText();
        // API3: who asked is the credential (a requestedBy in the body is not a field of the request, and is ignored)
        assertEquals("key:" + operatorKey.id, json(queued).path("requestedBy").asText(), queued.body());
        String neverJob = UUID.randomUUID().toString();

        for (String role : List.of("client", "reviewer", "auditor")) {
            String key = issueKey(List.of("acme"), role, "PT1H").key;
            assertSameAnswer(get("/v1/prompt-sets/" + source, key), get("/v1/prompt-sets/owasp-never-" + suffix, key),
                    source, "owasp-never-" + suffix, 403);
            assertSameAnswer(get("/v1/retraining-jobs/" + job, key), get("/v1/retraining-jobs/" + neverJob, key), job, neverJob, 403);
            for (String list : List.of("/v1/prompt-sets", "/v1/retraining-jobs")) {
                HttpResponse<String> listed = get(list, key);
                assertEquals(403, listed.statusCode(), role + " " + list);
                assertFalse(listed.body().contains(source) || listed.body().contains(job), listed.body());
            }
        }
        assertEquals(200, get("/v1/retraining-jobs/" + job, operator).statusCode());
    }

    // API2: broken authentication

    @Test
    void api2MissingForgedUnknownExpiredAndRevokedCredentialsAreAllTheSame401() throws Exception {
        IssuedKey expiring = issueKey(List.of("acme"), "client", "PT2S");
        IssuedKey revoked = issueKey(List.of("acme"), "client", "PT1H");
        assertEquals(200, get("/v1/interventions", revoked.key).statusCode(), "a fresh key works");
        HttpResponse<String> revocation = call("DELETE", "/v1/keys/" + revoked.id, app.operatorKey(), null, null);
        assertEquals(200, revocation.statusCode(), revocation.body());
        assertFalse(json(revocation).path("revokedAt").isNull());

        KeyPair stranger = rsaKeyPair();
        Instant inTenMinutes = Instant.now().plusSeconds(600);
        String trusted = TestTokens.sign(identityProvider.getPrivate(), "alice", List.of("acme"), List.of("client"), ISSUER, inTenMinutes);
        assertEquals(200, get("/v1/interventions", trusted).statusCode(), "a token of the trusted identity provider works");

        Map<String, String> refused = new LinkedHashMap<>();
        refused.put("no Authorization header", null);
        refused.put("Basic scheme", "Basic YWRtaW46YWRtaW4=");
        refused.put("Bearer without a credential", "Bearer");
        refused.put("garbage token", "Bearer garbage");
        refused.put("unknown well-formed key", "Bearer sgk_" + "A".repeat(43));
        refused.put("revoked key", "Bearer " + revoked.key);
        refused.put("token signed by another key", "Bearer "
                + TestTokens.sign(stranger.getPrivate(), "mallory", List.of("*"), List.of("operator"), ISSUER, inTenMinutes));
        refused.put("token of another issuer", "Bearer "
                + TestTokens.sign(identityProvider.getPrivate(), "mallory", List.of("acme"), List.of("operator"), "https://other-issuer", inTenMinutes));
        refused.put("expired token", "Bearer "
                + TestTokens.sign(identityProvider.getPrivate(), "mallory", List.of("acme"), List.of("operator"), ISSUER, Instant.now().minusSeconds(600)));
        refused.put("unsigned token", "Bearer " + unsigned(trusted));

        // waiting out the short key's expiry (how long it takes is not asserted)
        Duration left = Duration.between(Instant.now(), Instant.parse(expiring.expiresAt));
        if (!left.isNegative()) {
            Thread.sleep(left.toMillis() + 500);
        }
        refused.put("expired key", "Bearer " + expiring.key);

        HttpResponse<String> first = null;
        for (Map.Entry<String, String> credential : refused.entrySet()) {
            for (String[] call : List.of(new String[] {"GET", "/v1/interventions"}, new String[] {"GET", "/v1/keys"},
                    new String[] {"POST", "/v1/generations"})) {
                boolean post = call[0].equals("POST");
                HttpResponse<String> answer = send(call[0], call[1], credential.getValue(), post ? JSON : null,
                        post ? "{\"id\":\"owasp-auth\",\"prompt\":\"Once\"}" : null);
                String what = credential.getKey() + ", " + call[0] + " " + call[1];
                assertEquals(401, answer.statusCode(), what + ": " + answer.body());
                assertEquals("UNAUTHENTICATED", code(answer), what);
                assertEquals(Optional.of("Bearer"), answer.headers().firstValue("WWW-Authenticate"), what);
                if (first == null) {
                    first = answer;
                }
                assertEquals(first.body(), answer.body(), what + ": the same answer for every bad credential, nothing about why");
            }
        }
    }

    // API3: broken object property level authorization (mass assignment)

    @Test
    void api3NoAuthorTenantOrResultIsTakenFromTheRequest() throws Exception {
        String client = app.clientKey("acme");
        String reviewerOfAcme = issueKey(List.of("acme"), "reviewer", "PT1H").key;

        // a client cannot promote, train or upload, whatever the body says
        assertEquals(403, call("POST", "/v1/interventions/kindness/train", client, JSON,
                "{\"method\":\"mean-shift\",\"source\":\"x\",\"target\":\"y\",\"promote\":true}").statusCode());
        assertEquals(403, call("POST", "/v1/interventions/kindness/versions/1/promote", reviewerOfAcme, null, null).statusCode());
        assertEquals(403, call("POST", "/v1/interventions/kindness/versions?createdBy=someone-else&kind=toxicity", client,
                HttpEndpoints.BYTES, "").statusCode());
        assertEquals(403, call("POST", "/v1/keys", client, JSON,
                "{\"tenants\":[\"*\"],\"roles\":[\"operator\"],\"expiresIn\":\"never\"}").statusCode(), "no key for oneself");
        // an operator naming the author is told it has no effect
        HttpResponse<String> named = call("POST", "/v1/interventions/owasp-none/versions?createdBy=someone-else&kind=toxicity",
                app.operatorKey(), HttpEndpoints.BYTES, "");
        assertEquals(400, named.statusCode(), named.body());
        assertTrue(json(named).path("message").asText().contains("createdBy"), named.body());

        // result fields in a request are unknown fields: refused, and the stored outcome is the refusal
        String forged = "owasp-forged-" + UUID.randomUUID();
        HttpResponse<String> withResult = call("POST", "/v1/generations", client, JSON, "{\"id\":\"" + forged
                + "\",\"prompt\":\"Once\",\"status\":\"COMPLETED\",\"text\":\"all approved\",\"applied\":[]}");
        assertEquals(400, withResult.statusCode(), withResult.body());
        assertEquals("INVALID_REQUEST", code(withResult));
        JsonNode stored = json(get("/v1/generations/" + forged, client));
        assertEquals("REJECTED", stored.path("status").asText(), stored.toString());
        assertFalse(stored.toString().contains("all approved"), stored.toString());

        // the reviewer of a verdict is the credential: a body naming one is refused, the stored verdict names the key
        String record = auditRecordOf("acme");
        IssuedKey reviewer = issueKey(List.of("acme"), "reviewer", "PT1H");
        HttpResponse<String> asSomeoneElse = call("POST", "/v1/audit/" + record + "/review", reviewer.key, JSON,
                "{\"verdict\":\"ok\",\"reviewer\":\"someone-else\"}");
        assertEquals(400, asSomeoneElse.statusCode(), asSomeoneElse.body());
        assertTrue(json(asSomeoneElse).path("message").asText().contains("reviewer"), asSomeoneElse.body());
        HttpResponse<String> review = call("POST", "/v1/audit/" + record + "/review", reviewer.key, JSON, "{\"verdict\":\"ok\"}");
        assertEquals(201, review.statusCode(), review.body());
        assertEquals("key:" + reviewer.id, json(review).path("reviewer").asText());
    }

    // API4: unrestricted resource consumption

    @Test
    void api4OverTheTenantsQuotaIs429WithRetryAfterAndNothingStored() throws Exception {
        awayFromTheEndOfTheMinute(Duration.ofSeconds(20));
        String quotaClient = app.clientKey(QUOTA_TENANT);
        String body = "{\"id\":\"%s\",\"prompt\":\"\"}";
        for (int i = 0; i < QUOTA_PER_MINUTE; i++) {
            HttpResponse<String> accepted = call("POST", "/v1/generations", quotaClient, JSON, String.format(body, "owasp-quota-" + UUID.randomUUID()));
            assertEquals(400, accepted.statusCode(), "accepted (and rejected for the empty prompt): " + accepted.body());
        }
        String over = "owasp-quota-" + UUID.randomUUID();
        HttpResponse<String> refused = call("POST", "/v1/generations", quotaClient, JSON, String.format(body, over));
        assertEquals(429, refused.statusCode(), "the quota from the environment is in force: " + refused.body());
        assertEquals("QUOTA_EXCEEDED", code(refused));
        assertTrue(json(refused).path("message").asText().contains(QUOTA_PER_MINUTE + " requests per minute"), refused.body());
        long retryAfter = Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow());
        assertTrue(retryAfter >= 1 && retryAfter <= 60, "Retry-After " + retryAfter + " s is within the minute");
        assertEquals(404, get("/v1/generations/" + over, quotaClient).statusCode(), "nothing stored for a refused request");
        // another tenant is not affected
        assertEquals(400, call("POST", "/v1/generations", app.clientKey("acme"), JSON, String.format(body, over)).statusCode());
        String metrics = HTTP.send(HttpRequest.newBuilder(URI.create(app.managementUrl() + "/q/metrics")).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertTrue(metrics.contains("steergate_quota_exceeded_total{kind=\"requests\",tenant=\"" + QUOTA_TENANT + "\"}"),
                "the environment's quota tenant is a label of its own");
    }

    @Test
    void api4ABodyOverTheMessageLimitIs413WithoutBeingStored() throws Exception {
        String id = "owasp-large-" + UUID.randomUUID();
        String prompt = "a".repeat(1_048_576);
        String client = app.clientKey("acme");
        HttpResponse<String> answer = call("POST", "/v1/generations", client, JSON, "{\"id\":\"" + id + "\",\"prompt\":\"" + prompt + "\"}");
        assertEquals(413, answer.statusCode(), answer.body());
        assertEquals("MESSAGE_TOO_LARGE", code(answer));
        assertEquals(404, get("/v1/generations/" + id, client).statusCode());
    }

    // API8: security misconfiguration

    @Test
    void api8HttpAnswersOnLoopbackOnlyAndHealthMetricsAndOpenApiOnTheManagementInterfaceOnly() throws Exception {
        for (String path : List.of("/q/health/ready", "/q/health/live", "/q/metrics", "/q/openapi", "/q/swagger-ui", "/q/dev-ui")) {
            assertEquals(404, call("GET", path, null, null, null).statusCode(), "API port: " + path);
        }
        for (String path : List.of("/q/health/ready", "/q/metrics", "/q/openapi")) {
            HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(URI.create(app.managementUrl() + path)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, answer.statusCode(), "management interface: " + path + " " + answer.body());
        }

        Optional<InetAddress> outside = nonLoopbackAddress();
        Assumptions.assumeTrue(outside.isPresent(), "this machine has no non-loopback address to try");
        for (int port : List.of(app.httpPort(), URI.create(app.managementUrl()).getPort())) {
            assertThrows(IOException.class, () -> {
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress(outside.get(), port), 2_000);
                }
            }, "port " + port + " must not answer on " + outside.get());
        }
    }

    @Test
    void api8ErrorAnswersAreJsonWithoutInternalsAndApiAnswersAreNeitherSniffedNorCached() throws Exception {
        String operator = app.operatorKey();
        String client = app.clientKey("acme");
        List<HttpResponse<String>> answers = List.of(
                call("POST", "/v1/keys", operator, JSON, "{\"tenants\":"),
                call("POST", "/v1/keys", operator, JSON, "{\"tenants\":\"acme\",\"roles\":7}"),
                call("POST", "/v1/keys", operator, JSON, "{\"tenants\":[\"acme\"],\"roles\":[\"client\"],\"expiresIn\":\"soon\"}"),
                call("POST", "/v1/keys", operator, "text/plain", "tenants=acme"),
                call("POST", "/v1/interventions/x/train", operator, JSON, "[1,2"),
                call("POST", "/v1/audit/1/review", issueKey(List.of("acme"), "reviewer", "PT1H").key, JSON, "{\"verdict\":"),
                call("GET", "/v1/audit/not-a-number", operator, null, null),
                call("GET", "/v1/audit?limit=lots&from=yesterday", operator, null, null),
                call("GET", "/v1/retraining-jobs/not-a-uuid", operator, null, null),
                call("POST", "/v1/generations", client, JSON, "{\"id\":\"owasp-bad\",\"prompt\":[\"Once\"],\"maxTokens\":\"many\"}"),
                call("POST", "/v1/generations", client, JSON, "{\"id\":"),
                call("PUT", "/v1/generations/x", client, JSON, "{}"),
                call("GET", "/v1/no-such-path", client, null, null),
                call("DELETE", "/v1/keys", operator, null, null));
        List<String> wrong = new ArrayList<>();
        for (HttpResponse<String> answer : answers) {
            String what = answer.request().method() + " " + answer.request().uri().getPath() + " -> " + answer.statusCode() + " "
                    + answer.headers().firstValue("Content-Type").orElse("(no type)") + " " + answer.body();
            boolean clientError = answer.statusCode() >= 400 && answer.statusCode() < 500;
            boolean internals = INTERNALS.matcher(answer.body()).find();
            boolean codeAndMessage = hasCodeAndMessage(answer);
            boolean nosniff = answer.headers().firstValue("X-Content-Type-Options").equals(Optional.of("nosniff"));
            if (!clientError || internals || !codeAndMessage || !nosniff) {
                wrong.add(what + (internals ? " [internals]" : "") + (codeAndMessage ? "" : " [not {code, message}]")
                        + (nosniff ? "" : " [no nosniff]"));
            }
        }
        assertEquals(List.of(), wrong, "4xx answers are JSON {code, message} without a stack trace or class name");
        HttpResponse<String> issued = call("POST", "/v1/keys", operator, JSON, "{\"tenants\":[\"acme\"],\"roles\":[\"client\"],\"expiresIn\":\"PT1M\"}");
        assertEquals(201, issued.statusCode());
        assertEquals(Optional.of("no-store"), issued.headers().firstValue("Cache-Control"), "an issued key is in this answer only");
        assertEquals(Optional.of("nosniff"), issued.headers().firstValue("X-Content-Type-Options"));
        assertEquals(Optional.of("no-store"), get("/v1/generations/owasp-none", client).headers().firstValue("Cache-Control"));
    }

    // helpers

    private record IssuedKey(String key, String id, String expiresAt) {}

    private static IssuedKey issueKey(List<String> tenants, String role, String expiresIn) throws Exception {
        String body = "{\"tenants\":" + TopicClient.json().writeValueAsString(tenants) + ",\"roles\":[\"" + role + "\"],"
                + "\"description\":\"SecurityIT " + role + "\",\"expiresIn\":\"" + expiresIn + "\"}";
        HttpResponse<String> issued = call("POST", "/v1/keys", app.operatorKey(), JSON, body);
        assertEquals(201, issued.statusCode(), issued.body());
        JsonNode view = json(issued);
        return new IssuedKey(view.path("key").asText(), view.path("id").asText(), view.path("expiresAt").asText());
    }

    /** The id of a fresh audit record of {@code tenant}: a request refused at once (empty prompt) is audited too. */
    private static String auditRecordOf(String tenant) throws Exception {
        String id = "owasp-audit-" + UUID.randomUUID();
        assertEquals(400, call("POST", "/v1/generations", app.clientKey(tenant), JSON, "{\"id\":\"" + id + "\",\"prompt\":\"\"}").statusCode());
        HttpResponse<String> listed = get("/v1/audit?tenant=" + tenant + "&limit=500", app.operatorKey());
        for (JsonNode item : json(listed).path("items")) {
            if (id.equals(item.path("requestId").asText())) {
                return item.path("id").asText();
            }
        }
        throw new AssertionError("no audit record of " + tenant + " for " + id + ": " + listed.body());
    }

    /**
     * Another tenant's object and one that never existed get the same status and body (but for the id itself), so
     * an answer tells nothing about what other tenants hold.
     */
    private static void assertSameAnswer(HttpResponse<String> other, HttpResponse<String> never, String otherId, String neverId,
            int status) {
        assertEquals(status, other.statusCode(), other.body());
        assertEquals(status, never.statusCode(), never.body());
        assertEquals(never.body().replace(neverId, otherId), other.body(), "another tenant's " + otherId + " answers as one never sent");
    }

    /** The token with its signature removed and its algorithm set to none. */
    private static String unsigned(String token) {
        String header = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
        return header + "." + token.split("\\.")[1] + ".";
    }

    private static KeyPair rsaKeyPair() throws NoSuchAlgorithmException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        return generator.generateKeyPair();
    }

    /** Quotas count per UTC minute: start far enough from its end that every request falls in one. */
    private static void awayFromTheEndOfTheMinute(Duration margin) throws InterruptedException {
        Instant now = Instant.now();
        Instant end = now.truncatedTo(ChronoUnit.MINUTES).plus(1, ChronoUnit.MINUTES);
        if (Duration.between(now, end).compareTo(margin) < 0) {
            Thread.sleep(Duration.between(now, end).toMillis() + 200);
        }
    }

    private static Optional<InetAddress> nonLoopbackAddress() throws IOException {
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!nic.isUp() || nic.isLoopback()) {
                continue;
            }
            for (InetAddress address : Collections.list(nic.getInetAddresses())) {
                if (address instanceof Inet4Address && !address.isLoopbackAddress()) {
                    return Optional.of(address);
                }
            }
        }
        return Optional.empty();
    }

    private static HttpResponse<String> get(String path, String key) throws Exception {
        return call("GET", path, key, null, null);
    }

    private static HttpResponse<String> call(String method, String path, String key, String contentType, String body)
            throws Exception {
        return send(method, path, key == null ? null : "Bearer " + key, contentType, body);
    }

    /** One request with {@code authorization} as the whole Authorization header (null: none). */
    private static HttpResponse<String> send(String method, String path, String authorization, String contentType, String body)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(app.baseUrl() + path)).timeout(Duration.ofSeconds(60));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        request.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static boolean hasCodeAndMessage(HttpResponse<String> response) {
        try {
            JsonNode error = json(response);
            return !error.path("code").asText().isEmpty() && !error.path("message").asText().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    private static String code(HttpResponse<String> response) throws IOException {
        if (response.body().isEmpty()) {
            return null;
        }
        JsonNode body = json(response);
        // the OpenAI-compatible paths answer OpenAI's {"error": {"code"}}
        return body.has("code") ? body.path("code").asText(null) : body.path("error").path("code").asText(null);
    }

    private static JsonNode json(HttpResponse<String> response) throws IOException {
        return TopicClient.json().readTree(response.body());
    }
}
