package io.steergate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.testing.TestModel;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.steergate.testing.TopicClient;

/**
 * The Kafka and HTTP contracts of docs/architecture.md 4 against the packaged application: only JSON on topics and HTTP.
 * Each test uses its own request ids, so the tests share one application and need no order.
 */
class GatewayContractIT {

    private static final Duration RESULT_TIMEOUT = Duration.ofMinutes(2);
    private static final String PROMPT = "Once upon a time";
    /** Enough for the reference phrase below: stories260K's 512-token vocabulary splits most words. */
    private static final int MAX_TOKENS = 48;
    /** The start of llama2.c's greedy continuation of PROMPT on stories260K (docs/architecture.md 5). */
    private static final String GREEDY_CONTINUATION = "there was a little girl named Lily";

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static ItStack stack;
    private static AppProcess app;

    @BeforeAll
    static void startStack() {
        stack = ItStack.start();
        app = stack.app("gateway-contract").start();
    }

    @AfterAll
    static void stopStack() {
        ItStack.close(stack, app);
    }

    @Test
    void requestOnKafkaGetsACompletedResultWithTheContractFields() throws Exception {
        String id = "contract-kafka-" + UUID.randomUUID();
        stack.topics.sendJson("steer.requests", id, GenerationRequests.of(id, "acme", PROMPT, MAX_TOKENS, 0.0));

        TopicClient.Received record = stack.topics.awaitRecord("steer.results", id, RESULT_TIMEOUT);
        JsonNode result = record.json();

        assertCompleted(result, id, MAX_TOKENS);
        // GET returns the stored result: the same JSON as the one on the topic
        HttpResponse<String> stored = get("/v1/generations/" + encode(id));
        assertEquals(200, stored.statusCode(), stored::body);
        assertEquals(withoutNulls(result), withoutNulls(json(stored)));
    }

    @Test
    void postAnswersSynchronouslyAndGetReturnsTheSameResult() throws Exception {
        String id = "contract-http-" + UUID.randomUUID();
        ObjectNode request = GenerationRequests.of(id, "acme", PROMPT, MAX_TOKENS, 0.0);

        HttpResponse<String> posted = post("/v1/generations", request.toString());

        assertEquals(200, posted.statusCode(), posted::body);
        JsonNode result = json(posted);
        assertCompleted(result, id, MAX_TOKENS);

        HttpResponse<String> fetched = get("/v1/generations/" + encode(id));
        assertEquals(200, fetched.statusCode(), fetched::body);
        JsonNode stored = json(fetched);
        assertEquals(id, stored.path("id").asText());
        assertEquals("COMPLETED", stored.path("status").asText());
        assertEquals(result.path("text"), stored.path("text"));
        assertEquals(result.path("model"), stored.path("model"));
        assertEquals(result.path("applied"), stored.path("applied"));
    }

    @Test
    void unknownIdIsA404WithAJsonError() throws Exception {
        HttpResponse<String> response = get("/v1/generations/never-sent-" + UUID.randomUUID());

        assertEquals(404, response.statusCode(), response::body);
        JsonNode error = json(response);
        assertFalse(error.path("code").asText().isBlank(), response::body);
        assertFalse(error.path("message").asText().isBlank(), response::body);
    }

    @Test
    void readableIdWithAnEmptyPromptIsRejectedNamingTheField() {
        String id = "contract-rejected-" + UUID.randomUUID();
        stack.topics.sendJson("steer.requests", id, GenerationRequests.of(id, "acme", "", 16, 0.0));

        JsonNode result = stack.topics.awaitRecord("steer.results", id, RESULT_TIMEOUT).json();

        assertEquals(id, result.path("id").asText());
        assertEquals("REJECTED", result.path("status").asText(), result::toString);
        assertFalse(result.path("error").path("code").asText().isBlank(), result::toString);
        assertTrue(result.path("error").path("message").asText().contains("prompt"), result::toString);
    }

    @Test
    void unreadableMessageGoesToTheDeadLetterTopicWithTheReason() {
        String key = "contract-dlq-" + UUID.randomUUID();
        byte[] garbage = "not json".getBytes(StandardCharsets.UTF_8);
        stack.topics.send("steer.requests", key, garbage);

        TopicClient.Received dead = stack.topics.awaitRecord("steer.requests.dlq", key, RESULT_TIMEOUT);

        assertEquals("not json", dead.text(), "the DLQ keeps the original bytes");
        assertFalse(blank(dead.header("steergate-error-code")), dead::toString);
        assertFalse(blank(dead.header("steergate-error-message")), dead::toString);
    }

    private static void assertCompleted(JsonNode result, String id, int maxTokens) throws Exception {
        String shown = result.toString();
        assertEquals(id, result.path("id").asText(), shown);
        assertEquals("acme", result.path("tenant").asText(), shown);
        assertEquals("COMPLETED", result.path("status").asText(), shown);
        assertTrue(result.path("text").isTextual() && !result.path("text").asText().isEmpty(), shown);
        assertFalse(result.path("text").asText().startsWith(PROMPT), "text is the completion only: " + shown);

        assertEquals("stories260K", result.path("model").path("name").asText(), shown);
        assertEquals("sha256:" + weightsSha256(), result.path("model").path("fingerprint").asText(), shown);
        assertFalse(result.path("policy").path("id").asText().isBlank(), shown);
        assertFalse(result.path("policy").path("version").asText().isBlank(), shown);
        assertTrue(result.path("applied").isArray(), shown);
        assertTrue(result.path("scores").isObject(), shown);

        // "Once upon a time" is BOS + 4 tokens with the stories260K tokenizer (docs/architecture.md 5)
        assertEquals(5, result.path("usage").path("promptTokens").asInt(), shown);
        int completionTokens = result.path("usage").path("completionTokens").asInt();
        assertTrue(completionTokens >= 1 && completionTokens <= maxTokens, shown);
        for (String timing : new String[] {"queueMs", "generateMs", "totalMs"}) {
            assertTrue(result.path("timings").path(timing).isNumber(), timing + " in " + shown);
        }
        assertTrue(result.path("error").isMissingNode() || result.path("error").isNull(), shown);

        if (result.path("applied").isEmpty()) {
            // unsteered greedy decoding must reproduce the reference continuation
            assertTrue(result.path("text").asText().contains(GREEDY_CONTINUATION), shown);
        }
    }

    /** A copy without null-valued fields: {"error": null} and a missing error say the same. */
    private static JsonNode withoutNulls(JsonNode node) {
        JsonNode copy = node.deepCopy();
        strip(copy);
        return copy;
    }

    private static void strip(JsonNode node) {
        if (node instanceof ObjectNode object) {
            List<String> nulls = new ArrayList<>();
            object.fields().forEachRemaining(field -> {
                if (field.getValue().isNull()) {
                    nulls.add(field.getKey());
                }
            });
            object.remove(nulls);
        }
        node.forEach(GatewayContractIT::strip);
    }

    private static String weightsSha256() throws Exception {
        Path weights = TestModel.dir().resolve("stories260K.bin");
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(weights)));
    }

    private static JsonNode json(HttpResponse<String> response) {
        try {
            return TopicClient.json().readTree(response.body());
        } catch (java.io.IOException e) {
            throw new AssertionError(response.request().method() + " " + response.uri() + " answered "
                    + response.statusCode() + " with a body that is not JSON: " + response.body(), e);
        }
    }

    private static HttpResponse<String> get(String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(app.baseUrl() + path))
                .timeout(RESULT_TIMEOUT).header("Accept", "application/json")
                .header("Authorization", app.clientAuthorization("acme")).GET().build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(String path, String json) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(app.baseUrl() + path))
                .timeout(RESULT_TIMEOUT)
                .header("Content-Type", "application/json").header("Accept", "application/json")
                .header("Authorization", app.clientAuthorization("acme"))
                .POST(HttpRequest.BodyPublishers.ofString(json)).build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private static String encode(String pathSegment) {
        return URLEncoder.encode(pathSegment, StandardCharsets.UTF_8);
    }

    private static boolean blank(String text) {
        return text == null || text.isBlank();
    }
}
