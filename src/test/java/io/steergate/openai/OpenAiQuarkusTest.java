package io.steergate.openai;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import io.steergate.audit.AuditRecord;
import io.steergate.gateway.Generation;
import io.steergate.security.ApiKeys;
import io.steergate.security.Roles;
import io.steergate.testing.DefaultCredential;
import io.steergate.testing.SteerGateTestProfile;
import jakarta.inject.Inject;
import java.net.URL;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The OpenAI-compatible door driven by the official OpenAI Java SDK, as a platform would call it, over the real broker,
 * PostgreSQL, worker and model; raw HTTP where the SDK hides the shape (error bodies, headers).
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class OpenAiQuarkusTest {

    static final String MODEL = "stories260K";
    static final Duration WAIT = Duration.ofSeconds(60);
    static final ObjectMapper JSON = new ObjectMapper();

    @TestHTTPResource("/")
    URL base;

    @Inject
    ApiKeys keys;

    String clientKey(String tenant) {
        return keys.issue(List.of(tenant), List.of(Roles.CLIENT), "openai test", null, "test").key();
    }

    OpenAIClient sdk(String key) {
        // no retries: each call is one request, so ids, quotas and errors are as sent
        return OpenAIOkHttpClient.builder().baseUrl(base + "v1").apiKey(key).maxRetries(0).build();
    }

    RequestSpecification raw(String key) {
        return given().header("Authorization", "Bearer " + key).contentType("application/json");
    }

    static String id(String what) {
        return what + "-" + UUID.randomUUID();
    }

    static void awaitPolicies() {
        // the demo interventions are imported once a worker registered its model; the policies follow on reload
        await().atMost(WAIT).until(() -> given().get("/v1/policies").jsonPath().getList("id").contains("kids-platform"));
    }

    @Test
    void aCompletionThroughTheSdkIsTheNativeDoorsGenerationInOpenAisShape() {
        Completion completion = sdk(clientKey("acme")).completions().create(CompletionCreateParams.builder()
                .model(MODEL).prompt("Once upon a time").maxTokens(16).temperature(0.0).build());
        String nativeText = raw(clientKey("acme")).body("{\"id\":\"" + id("native") + "\",\"prompt\":\"Once upon a time\","
                + "\"maxTokens\":16,\"temperature\":0}").post("/v1/generations").then().statusCode(200).extract().path("text");

        assertTrue(completion.id().startsWith("cmpl-"), completion.id());
        assertEquals(MODEL, completion.model());
        assertEquals(1, completion.choices().size());
        assertEquals(nativeText, completion.choices().get(0).text(), "greedy: the same text as POST /v1/generations");
        assertEquals(CompletionChoice.FinishReason.LENGTH, completion.choices().get(0).finishReason());
        assertEquals(5, completion.usage().orElseThrow().promptTokens());
        assertEquals(16, completion.usage().orElseThrow().completionTokens());
        assertEquals(21, completion.usage().orElseThrow().totalTokens());
        assertTrue(Math.abs(completion.created() - System.currentTimeMillis() / 1000) < 600, "created is epoch seconds");
        Generation stored = QuarkusTransaction.requiringNew().call(
                () -> Generation.byTenantAndRequestId("acme", completion.id()).orElseThrow());
        assertEquals(Generation.State.COMPLETED, stored.status);
    }

    @Test
    void aChatCompletionRendersTheMessagesThroughThePlainTemplate() {
        ChatCompletion chat = sdk(clientKey("acme")).chat().completions().create(ChatCompletionCreateParams.builder()
                .model(MODEL).addSystemMessage("You tell stories.").addUserMessage("Tell me about a cat.")
                .maxCompletionTokens(8).temperature(0.0).build());

        assertTrue(chat.id().startsWith("chatcmpl-"), chat.id());
        assertEquals(1, chat.choices().size());
        String content = chat.choices().get(0).message().content().orElseThrow();
        assertTrue(!content.isEmpty());
        assertEquals(8, chat.usage().orElseThrow().completionTokens());
        Generation stored = QuarkusTransaction.requiringNew().call(
                () -> Generation.byTenantAndRequestId("acme", chat.id()).orElseThrow());
        assertTrue(stored.requestJson.contains("\"prompt\":\"system: You tell stories.\\nuser: Tell me about a cat.\\nassistant:\""),
                stored.requestJson);
        assertTrue(stored.resultJson.contains(JSON.valueToTree(content).toString()), "the stored text is the answer's content");
    }

    @Test
    void theModelsListNamesTheServedModel() {
        List<Model> models = sdk(clientKey("acme")).models().list().data();
        assertEquals(1, models.size());
        assertEquals(MODEL, models.get(0).id());
        assertEquals("steergate", models.get(0).ownedBy());
    }

    @Test
    void refusalsSurfaceAsTheSdksExceptionsNamingTheField() {
        OpenAIClient client = sdk(clientKey("acme"));
        BadRequestException twoChoices = assertThrows(BadRequestException.class, () -> client.completions().create(
                CompletionCreateParams.builder().model(MODEL).prompt("Once").n(2).build()));
        assertEquals(400, twoChoices.statusCode());
        assertEquals("n", twoChoices.param().orElseThrow());
        assertEquals("invalid_request_error", twoChoices.type().orElseThrow());
        assertEquals("INVALID_REQUEST", twoChoices.code().orElseThrow());

        BadRequestException tooMany = assertThrows(BadRequestException.class, () -> client.completions().create(
                CompletionCreateParams.builder().model(MODEL).prompt("Once").maxTokens(100_000).build()));
        assertEquals("max_tokens", tooMany.param().orElseThrow(), "the decoder's maxTokens in OpenAI's spelling");

        UnauthorizedException unknownKey = assertThrows(UnauthorizedException.class, () -> sdk("sg_not-a-key").models().list());
        assertEquals(401, unknownKey.statusCode());
        assertEquals("authentication_error", unknownKey.type().orElseThrow());
    }

    @Test
    void theSameIdempotencyKeyAnswersTheSameCompletion() {
        String key = id("openai-replay");
        OpenAIClient client = sdk(clientKey("acme"));
        CompletionCreateParams sampled = CompletionCreateParams.builder().model(MODEL).prompt("Once upon a time")
                .maxTokens(12).temperature(1.0).putAdditionalHeader("Idempotency-Key", key).build();
        Completion first = client.completions().create(sampled);
        Completion again = client.completions().create(sampled);
        String rawAgain = raw(clientKey("acme")).header("Idempotency-Key", key)
                .body("{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":40}")
                .post("/v1/completions").then().statusCode(200).extract().asString();

        assertEquals(key, first.id(), "the Idempotency-Key is the request id");
        assertEquals(first, again, "a replay is the stored completion: same id, created, text and usage");
        JsonNode replayed = readTree(rawAgain);
        assertEquals(key, replayed.get("id").asText());
        assertEquals(first.created(), replayed.get("created").asLong());
        assertEquals(first.choices().get(0).text(), replayed.at("/choices/0/text").asText());
        assertEquals(first.choices().get(0).finishReason().asString(), replayed.at("/choices/0/finish_reason").asText(),
                "the stored request's max_tokens decides, not the replay's");
        assertEquals(1L, QuarkusTransaction.requiringNew().call(() -> Generation.count("tenant = ?1 and requestId = ?2", "acme", key)));
        assertEquals(1L, QuarkusTransaction.requiringNew().call(() -> AuditRecord.count("requestId", key)));
    }

    @Test
    void aStreamThroughTheSdkAnswersTheSameTextAsTheCompletionWithTheSameSeed() {
        OpenAIClient client = sdk(clientKey("acme"));
        CompletionCreateParams.Builder params = CompletionCreateParams.builder().model(MODEL).prompt("Once upon a time")
                .maxTokens(12).temperature(0.8).seed(11L);
        Completion whole = client.completions().create(params.build());
        List<Completion> chunks;
        try (StreamResponse<Completion> stream = client.completions().createStreaming(params
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            chunks = stream.stream().toList();
        }
        String streamed = chunks.stream().flatMap(chunk -> chunk.choices().stream()).map(CompletionChoice::text)
                .collect(Collectors.joining());

        assertEquals(whole.choices().get(0).text(), streamed, "the same request and seed: the same text, in pieces");
        assertTrue(chunks.size() >= 3, "a piece, the finish, the usage: " + chunks.size());
        assertEquals(CompletionChoice.FinishReason.LENGTH, chunks.get(chunks.size() - 2).choices().get(0).finishReason());
        Completion usage = chunks.get(chunks.size() - 1);
        assertTrue(usage.choices().isEmpty());
        assertEquals(12, usage.usage().orElseThrow().completionTokens());
        String id = chunks.get(0).id();
        assertTrue(chunks.stream().allMatch(chunk -> chunk.id().equals(id)));
        assertEquals(Generation.State.COMPLETED, QuarkusTransaction.requiringNew().call(
                () -> Generation.byTenantAndRequestId("acme", id).orElseThrow()).status);
        assertEquals(1L, QuarkusTransaction.requiringNew().call(() -> AuditRecord.count("requestId", id)));

        // a replay of a finished id: its stored text, one chunk, then the finish and [DONE]
        String replay = raw(clientKey("acme")).header("Idempotency-Key", id).body("{\"model\":\"stories260K\","
                + "\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"stream\":true}").post("/v1/completions")
                .then().statusCode(200).contentType(containsString("text/event-stream")).extract().asString();
        List<String> data = replay.lines().filter(line -> line.startsWith("data: ")).map(line -> line.substring(6)).toList();
        assertEquals(3, data.size(), replay);
        assertEquals(streamed, readTree(data.get(0)).at("/choices/0/text").asText());
        assertEquals("length", readTree(data.get(1)).at("/choices/0/finish_reason").asText());
        assertEquals("[DONE]", data.get(2));
        assertEquals(1L, QuarkusTransaction.requiringNew().call(() -> AuditRecord.count("requestId", id)), "a replay audits nothing");
    }

    @Test
    void errorsHaveOpenAisShapeAndStatus() throws InterruptedException {
        String acme = clientKey("acme");
        assertError(raw(acme).body("{\"model\":\"stories260K\",\"prompt\":\"a\",\"stream\":\"yes\"}").post("/v1/completions"),
                400, "invalid_request_error", "stream", "INVALID_REQUEST");
        assertError(raw(acme).body("{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],"
                + "\"stream_options\":{\"include_usage\":true}}").post("/v1/chat/completions"), 400, "invalid_request_error",
                "stream_options", "INVALID_REQUEST");
        assertError(raw(acme).body("{\"model\":\"stories260K\",\"prompt\":\"a\",\"stop\":\"\\n\"}").post("/v1/completions"),
                400, "invalid_request_error", "stop", "INVALID_REQUEST");
        assertError(raw(acme).body("{\"model\":\"gpt-4o\",\"prompt\":\"a\"}").post("/v1/completions"),
                404, "invalid_request_error", "model", "NOT_FOUND");
        assertError(raw(acme).body("{\"model\":\"stories260K\",\"prompt\":\"\"}").post("/v1/completions"),
                400, "invalid_request_error", "prompt", "INVALID_REQUEST");
        assertError(raw(acme).header("Idempotency-Key", "not a valid id").body("{\"model\":\"stories260K\",\"prompt\":\"a\"}")
                .post("/v1/completions"), 400, "invalid_request_error", "Idempotency-Key", "INVALID_REQUEST");
        assertError(raw(acme).body("not json").post("/v1/completions"), 400, "invalid_request_error", "body", "INVALID_REQUEST");
        assertError(given().header("Authorization", DefaultCredential.NONE).get("/v1/models"),
                401, "authentication_error", null, "UNAUTHENTICATED");
        // the default credential acts for every tenant: the OpenAI door needs the one tenant it is for
        assertError(given().contentType("application/json").body("{\"model\":\"stories260K\",\"prompt\":\"a\"}")
                .post("/v1/completions"), 403, "permission_error", null, "FORBIDDEN");

        // the quota counts per UTC minute: both requests in one window
        Instant now = Instant.now();
        Duration left = Duration.between(now, now.truncatedTo(ChronoUnit.MINUTES).plus(1, ChronoUnit.MINUTES));
        if (left.compareTo(Duration.ofSeconds(15)) < 0) {
            Thread.sleep(left.toMillis() + 200);
        }
        String quota = clientKey("quota-openai");
        raw(quota).body("{\"model\":\"stories260K\",\"prompt\":\"a\",\"max_tokens\":1}").post("/v1/completions").then().statusCode(200);
        Response over = raw(quota).body("{\"model\":\"stories260K\",\"prompt\":\"a\",\"max_tokens\":1}").post("/v1/completions");
        assertError(over, 429, "rate_limit_error", null, "QUOTA_EXCEEDED");
        assertTrue(Long.parseLong(over.header("Retry-After")) >= 1, "Retry-After is kept");
    }

    /**
     * The framework routes a trailing slash to the same resource, so the error shape must follow the resource, not the
     * path's spelling: OpenAI SDKs read error.param.
     */
    @Test
    void aTrailingSlashKeepsOpenAisErrorShape() {
        String acme = clientKey("acme");
        assertError(raw(acme).body("{\"model\":\"stories260K\",\"prompt\":\"a\",\"stop\":\"\\n\"}").post("/v1/completions/"),
                400, "invalid_request_error", "stop", "INVALID_REQUEST");
        assertError(raw(acme).body("{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],"
                + "\"stop\":\"x\"}").post("/v1/chat/completions/"), 400, "invalid_request_error", "stop", "INVALID_REQUEST");
        assertError(given().header("Authorization", DefaultCredential.NONE).get("/v1/models/"),
                401, "authentication_error", null, "UNAUTHENTICATED");
    }

    /**
     * Without "stream": true the answer is JSON whatever Accept says: before, an SSE client's Accept made it a 200
     * labelled text/event-stream carrying JSON, after the generation was charged and audited.
     */
    @Test
    void anAnswerThatIsNotStreamedIsJsonEvenToAnEventStreamClient() {
        String acme = clientKey("acme");
        Response answer = raw(acme).accept("text/event-stream")
                .body("{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":2}").post("/v1/completions");
        assertEquals(200, answer.statusCode(), answer.asString());
        assertTrue(answer.contentType().startsWith("application/json"), answer.contentType());
        assertEquals("text_completion", readTree(answer.asString()).get("object").asText());
        Response refused = raw(acme).accept("text/event-stream")
                .body("{\"model\":\"stories260K\",\"prompt\":\"a\",\"stop\":\"\\n\"}").post("/v1/completions");
        assertTrue(refused.contentType().startsWith("application/json"), refused.contentType());
        assertError(refused, 400, "invalid_request_error", "stop", "INVALID_REQUEST");
    }

    @Test
    void theOpenAiDoorGetsTheSamePolicyDecisionAndAuditAsTheNativeDoor() {
        awaitPolicies();
        String kids = clientKey("kids-co");
        String nativeId = id("native-kids");
        String openAiId = id("openai-kids");
        JsonNode nativeResult = readTree(raw(kids).body("{\"id\":\"" + nativeId + "\",\"prompt\":\"Tim wanted a pet.\","
                + "\"maxTokens\":12,\"temperature\":0.8,\"seed\":5,\"labels\":{\"channel\":\"kids\"}}")
                .post("/v1/generations").then().statusCode(200).extract().asString());
        JsonNode completion = readTree(raw(kids).header("Idempotency-Key", openAiId).body("{\"model\":\"stories260K\","
                + "\"prompt\":\"Tim wanted a pet.\",\"max_tokens\":12,\"temperature\":0.8,\"seed\":5,\"labels\":{\"channel\":\"kids\"}}")
                .post("/v1/completions").then().statusCode(200).extract().asString());

        assertEquals(nativeResult.get("text").asText(), completion.at("/choices/0/text").asText());
        assertEquals(nativeResult.get("applied"), completion.at("/steergate/applied"), "the extension names the applied plan");
        assertEquals("kids-platform", completion.at("/steergate/policy/id").asText());
        AuditRecord nativeAudit = audit(nativeId);
        AuditRecord openAiAudit = audit(openAiId);
        assertEquals(nativeAudit.policyId, openAiAudit.policyId);
        assertEquals(nativeAudit.policyVersion, openAiAudit.policyVersion);
        assertEquals(nativeAudit.appliedJson, openAiAudit.appliedJson);
        assertEquals(nativeAudit.decisionTraceJson, openAiAudit.decisionTraceJson);
        assertTrue(openAiAudit.appliedJson.contains("\"no-dogs\""), openAiAudit.appliedJson);

        // a style the policy does not offer: REJECTED through either door, here as OpenAI's error
        assertError(raw(kids).body("{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],"
                + "\"styles\":[\"cheerful\"]}").post("/v1/chat/completions"), 400, "invalid_request_error", null, "STYLE_NOT_ALLOWED");
    }

    AuditRecord audit(String requestId) {
        return QuarkusTransaction.requiringNew().call(() -> AuditRecord.<AuditRecord>find("requestId", requestId).singleResult());
    }

    static void assertError(Response response, int status, String type, String param, String code) {
        assertEquals(status, response.statusCode(), response.asString());
        JsonNode error = readTree(response.asString()).get("error");
        assertTrue(error != null && error.get("message").isTextual() && !error.get("message").asText().isEmpty(), response.asString());
        assertEquals(type, error.get("type").asText(), response.asString());
        assertEquals(param, error.get("param").isNull() ? null : error.get("param").asText(), response.asString());
        assertEquals(code, error.get("code").asText(), response.asString());
    }

    static JsonNode readTree(String json) {
        try {
            return JSON.readTree(json);
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + json, e);
        }
    }
}
