package io.steergate.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.SafeText;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;

/**
 * Turns an OpenAI completions or chat completions body into the GenerationRequest it asks for; the gateway's
 * RequestDecoder then checks that request's fields as for every other door. Pure: no I/O. A field this gateway cannot
 * honour is refused naming it (ApiError "field: why"), never silently dropped; README "OpenAI-compatible API" lists them.
 */
public final class OpenAiRequests {

    /** OpenAI's default max_tokens of /v1/completions. */
    static final int COMPLETION_DEFAULT_MAX_TOKENS = 16;
    /** OpenAI's default temperature (the native door's is 0, greedy). */
    static final double DEFAULT_TEMPERATURE = 1.0;

    /** Read by both endpoints: OpenAI's names, then SteerGate's extension fields, passed on as they are. */
    private static final Set<String> COMMON = Set.of("model", "max_tokens", "temperature", "top_p", "seed", "n", "stop",
            "user", "stream", "stream_options", "steering", "styles", "labels");
    private static final Set<String> COMPLETION = Set.of("prompt");
    private static final Set<String> CHAT = Set.of("messages", "max_completion_tokens");

    /** Optional OpenAI fields that change nothing at these values (JSON texts); at any other value they are refused. */
    private static final Map<String, List<String>> COMMON_DEFAULTS = Map.of(
            "presence_penalty", List.of("0"),
            "frequency_penalty", List.of("0"),
            "logit_bias", List.of("{}"));
    private static final Map<String, List<String>> COMPLETION_DEFAULTS = Map.of(
            "logprobs", List.of("0"),
            "echo", List.of("false"),
            "best_of", List.of("1"),
            "suffix", List.of());
    private static final Map<String, List<String>> CHAT_DEFAULTS = Map.ofEntries(
            Map.entry("logprobs", List.of("false")),
            Map.entry("top_logprobs", List.of("0")),
            Map.entry("response_format", List.of("{\"type\":\"text\"}")),
            Map.entry("tools", List.of("[]")),
            Map.entry("tool_choice", List.of("\"none\"", "\"auto\"")),
            Map.entry("parallel_tool_calls", List.of("true", "false")),
            Map.entry("functions", List.of("[]")),
            Map.entry("function_call", List.of("\"none\"", "\"auto\"")),
            Map.entry("service_tier", List.of("\"auto\"", "\"default\"")),
            Map.entry("store", List.of("false")),
            Map.entry("metadata", List.of("{}")),
            Map.entry("modalities", List.of("[\"text\"]")),
            Map.entry("reasoning_effort", List.of()),
            Map.entry("prediction", List.of()),
            Map.entry("audio", List.of()),
            Map.entry("web_search_options", List.of()));
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant");

    /**
     * A GenerationRequest body, the max_tokens it was generated under (to tell "length" from "stop"), whether the client
     * asked for Server-Sent Events and, if so, for a last chunk with the usage ({@code stream_options.include_usage}).
     */
    public record Mapped(ObjectNode request, int maxTokens, boolean stream, boolean includeUsage) {}

    private final ObjectMapper json;
    private final String servedModel;
    private final int nativeDefaultMaxTokens;

    public OpenAiRequests(ObjectMapper json, String servedModel, int nativeDefaultMaxTokens) {
        this.json = json;
        this.servedModel = servedModel;
        this.nativeDefaultMaxTokens = nativeDefaultMaxTokens;
    }

    /** POST /v1/completions. */
    public Mapped completion(JsonNode body, String requestId) {
        ObjectNode request = common(body, requestId, COMPLETION, COMPLETION_DEFAULTS);
        request.put("prompt", prompt(body.get("prompt")));
        JsonNode maxTokens = body.get("max_tokens");
        if (isAbsent(maxTokens)) {
            request.put("maxTokens", COMPLETION_DEFAULT_MAX_TOKENS);
        } else {
            request.set("maxTokens", maxTokens);
        }
        return mapped(body, request);
    }

    /** POST /v1/chat/completions: the messages rendered through the served model's template. */
    public Mapped chat(JsonNode body, String requestId, ChatTemplate template) {
        ObjectNode request = common(body, requestId, CHAT, CHAT_DEFAULTS);
        request.put("prompt", template.render(messages(body.get("messages"), template)));
        JsonNode maxTokens = body.get("max_tokens");
        JsonNode maxCompletionTokens = body.get("max_completion_tokens");
        if (!isAbsent(maxTokens) && !isAbsent(maxCompletionTokens)) {
            throw ApiError.badField("max_completion_tokens", "give max_completion_tokens or max_tokens, not both");
        }
        JsonNode limit = isAbsent(maxCompletionTokens) ? maxTokens : maxCompletionTokens;
        if (!isAbsent(limit)) {
            request.set("maxTokens", limit);
        }
        return mapped(body, request);
    }

    private Mapped mapped(JsonNode body, ObjectNode request) {
        JsonNode stream = body.get("stream");
        boolean streamed = !isAbsent(stream) && stream.booleanValue();
        JsonNode usage = isAbsent(body.get("stream_options")) ? null : body.get("stream_options").get("include_usage");
        return new Mapped(request, requested(request), streamed, streamed && !isAbsent(usage) && usage.booleanValue());
    }

    private ObjectNode common(JsonNode body, String requestId, Set<String> ownFields, Map<String, List<String>> ownDefaults) {
        if (body == null || !body.isObject()) {
            throw ApiError.badField("body", "must be a JSON object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> fields = body.fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            String name = field.getKey();
            if (COMMON.contains(name) || ownFields.contains(name)) {
                continue;
            }
            List<String> defaults = COMMON_DEFAULTS.containsKey(name) ? COMMON_DEFAULTS.get(name) : ownDefaults.get(name);
            if (defaults == null) {
                throw ApiError.badField(SafeText.of(name, 64), "unknown field");
            }
            if (!isDefault(field.getValue(), defaults)) {
                throw ApiError.badField(name, "not supported; accepted only at its default value"
                        + (defaults.isEmpty() ? " (null)" : " (" + String.join(" or ", defaults) + ")"));
            }
        }
        model(body.get("model"));
        JsonNode n = body.get("n");
        if (!isAbsent(n) && !(n.isIntegralNumber() && n.canConvertToLong() && n.asLong() == 1)) {
            throw ApiError.badField("n", "only 1 choice per request is supported, got " + SafeText.of(n.toString(), 32));
        }
        JsonNode stream = body.get("stream");
        if (!isAbsent(stream) && !stream.isBoolean()) {
            throw ApiError.badField("stream", "must be a boolean");
        }
        streamOptions(body.get("stream_options"), !isAbsent(stream) && stream.booleanValue());
        if (!isAbsent(body.get("stop"))) {
            throw ApiError.badField("stop", "stop sequences are not supported: the engine stops at the model's end of text"
                    + " or at max_tokens");
        }
        ObjectNode request = json.createObjectNode();
        request.put("id", requestId);
        JsonNode temperature = body.get("temperature");
        if (isAbsent(temperature)) {
            request.put("temperature", DEFAULT_TEMPERATURE);
        } else {
            request.set("temperature", temperature);
        }
        copy(body, "top_p", request, "topP");
        copy(body, "seed", request, "seed");
        for (String extension : List.of("steering", "styles", "labels")) {
            copy(body, extension, request, extension);
        }
        return request;
    }

    /** OpenAI's rule: stream_options only with "stream": true; of its fields only include_usage, a boolean. */
    private static void streamOptions(JsonNode options, boolean streamed) {
        if (isAbsent(options)) {
            return;
        }
        if (!streamed) {
            throw ApiError.badField("stream_options", "only allowed with \"stream\": true");
        }
        if (!options.isObject()) {
            throw ApiError.badField("stream_options", "must be an object");
        }
        for (Iterator<String> names = options.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!"include_usage".equals(name) && !isAbsent(options.get(name))) {
                throw ApiError.badField("stream_options." + SafeText.of(name, 64), "not supported (only include_usage)");
            }
        }
        JsonNode usage = options.get("include_usage");
        if (!isAbsent(usage) && !usage.isBoolean()) {
            throw ApiError.badField("stream_options.include_usage", "must be a boolean");
        }
    }

    private void model(JsonNode model) {
        if (isAbsent(model)) {
            throw ApiError.badField("model", "missing; GET /v1/models lists the served models");
        }
        if (!model.isTextual()) {
            throw ApiError.badField("model", "must be a string");
        }
        if (!servedModel.equals(model.textValue())) {
            throw new ApiError(404, ErrorCode.NOT_FOUND, "model: '" + SafeText.of(model.textValue(), 64)
                    + "' is not served here; GET /v1/models lists the served models");
        }
    }

    private static String prompt(JsonNode prompt) {
        if (isAbsent(prompt)) {
            throw ApiError.badField("prompt", "missing");
        }
        if (prompt.isTextual()) {
            return prompt.textValue();
        }
        boolean ofStrings = prompt.isArray() && !prompt.isEmpty();
        for (int i = 0; ofStrings && i < prompt.size(); i++) {
            ofStrings = prompt.get(i).isTextual();
        }
        if (ofStrings && prompt.size() != 1) {
            throw ApiError.badField("prompt", "one prompt per request is supported, got an array of " + prompt.size());
        }
        if (ofStrings) {
            return prompt.get(0).textValue();
        }
        throw ApiError.badField("prompt", "must be a string (token arrays are not supported)");
    }

    private static List<ChatTemplate.Message> messages(JsonNode messages, ChatTemplate template) {
        if (isAbsent(messages)) {
            throw ApiError.badField("messages", "missing");
        }
        if (!messages.isArray() || messages.isEmpty()) {
            throw ApiError.badField("messages", "must be a non-empty array of messages");
        }
        List<ChatTemplate.Message> read = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode message = messages.get(i);
            String at = "messages[" + i + "]";
            if (!message.isObject()) {
                throw ApiError.badField(at, "must be an object");
            }
            for (Iterator<String> names = message.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!Set.of("role", "content", "name").contains(name) && !isAbsent(message.get(name))) {
                    throw ApiError.badField(at + "." + SafeText.of(name, 64), "not supported (only role, content and name)");
                }
            }
            JsonNode role = message.get("role");
            if (role == null || !role.isTextual() || !ROLES.contains(role.textValue())) {
                throw ApiError.badField(at + ".role", "must be one of system, developer, user, assistant");
            }
            // developer is the newer name of the system role
            String normalized = "developer".equals(role.textValue()) ? "system" : role.textValue();
            String content = content(message.get("content"), at + ".content");
            Optional<Matcher> special = template.specialTokens().map(tokens -> tokens.matcher(content)).filter(Matcher::find);
            if (special.isPresent()) {
                throw ApiError.badField(at + ".content", "must not contain '" + SafeText.of(special.get().group(), 64)
                        + "': the " + template.name() + " chat format's tokenizer reads it as a special token, which would"
                        + " end this message and could open another");
            }
            read.add(new ChatTemplate.Message(normalized, content));
        }
        return read;
    }

    /** A string, or an array of text parts ({"type": "text", "text": ...}) joined. */
    private static String content(JsonNode content, String at) {
        if (content != null && content.isTextual()) {
            return content.textValue();
        }
        if (content != null && content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < content.size(); i++) {
                JsonNode part = content.get(i);
                JsonNode type = part.get("type");
                JsonNode partText = part.get("text");
                if (type == null || !"text".equals(type.asText()) || partText == null || !partText.isTextual()) {
                    throw ApiError.badField(at + "[" + i + "]", "only text parts ({\"type\": \"text\", \"text\": ...}) are supported");
                }
                text.append(partText.textValue());
            }
            return text.toString();
        }
        throw ApiError.badField(at, "must be a string or an array of text parts");
    }

    private int requested(ObjectNode request) {
        JsonNode maxTokens = request.get("maxTokens");
        return maxTokens != null && maxTokens.canConvertToInt() ? maxTokens.intValue() : nativeDefaultMaxTokens;
    }

    private static void copy(JsonNode body, String from, ObjectNode request, String to) {
        JsonNode value = body.get(from);
        if (!isAbsent(value)) {
            request.set(to, value);
        }
    }

    private boolean isDefault(JsonNode value, List<String> defaults) {
        if (isAbsent(value)) {
            return true;
        }
        for (String text : defaults) {
            JsonNode expected = readLiteral(text);
            if (expected.isNumber() && value.isNumber() ? expected.doubleValue() == value.doubleValue() : expected.equals(value)) {
                return true;
            }
        }
        return false;
    }

    private JsonNode readLiteral(String text) {
        try {
            return json.readTree(text);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("a default of this class is not JSON: " + text, e);
        }
    }

    private static boolean isAbsent(JsonNode node) {
        return node == null || node.isNull();
    }
}
