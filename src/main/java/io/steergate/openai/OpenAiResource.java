package io.steergate.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.smallrye.common.annotation.Blocking;
import io.steergate.gateway.Generation;
import io.steergate.gateway.LimitsConfig;
import io.steergate.gateway.RequestLimits;
import io.steergate.gateway.SynchronousGenerations;
import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.GenerationResult;
import io.steergate.messages.Identifiers;
import io.steergate.security.Caller;
import io.steergate.security.Roles;
import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/**
 * The OpenAI-compatible door: OpenAI's completions, chat completions and models as OpenAI defines them, mapped to a
 * GenerationRequest (with the extension fields steering, styles, labels) and sent down the same path as
 * POST /v1/generations, so policy, quotas, audit and idempotency are the same. The tenant is the credential's; the
 * Idempotency-Key header is the request id, so a replay answers the stored completion. Errors are reshaped into
 * OpenAI's {"error": {...}} by {@link OpenAiErrors}.
 */
@Path("/v1")
@Tag(name = "openai")
@Produces(MediaType.APPLICATION_JSON)
@Blocking
public class OpenAiResource {

    static final String IDEMPOTENCY_KEY = "Idempotency-Key";

    @Inject
    SynchronousGenerations generations;

    @Inject
    ChatTemplates templates;

    @Inject
    LimitsConfig limits;

    @Inject
    Caller caller;

    @Inject
    ObjectMapper json;

    @POST
    @Path("/completions")
    @RolesAllowed(Roles.CLIENT)
    @Consumes(MediaType.WILDCARD)
    @Operation(summary = "OpenAI-compatible text completion", description = "OpenAI's body plus steering, styles, labels; "
            + "the Idempotency-Key header is the request id. README \"OpenAI-compatible API\" lists the fields.")
    @APIResponse(responseCode = "200", description = "A text_completion")
    @APIResponse(responseCode = "400", description = "{error} naming the field in param (stream, n > 1, stop are refused)")
    @APIResponse(responseCode = "404", description = "The model is not served")
    @APIResponse(responseCode = "422", description = "OUTPUT_WITHHELD by the policy")
    @APIResponse(responseCode = "429", description = "QUOTA_EXCEEDED; Retry-After")
    public Response completions(byte[] body, @HeaderParam(IDEMPOTENCY_KEY) String idempotencyKey)
            throws InterruptedException, JsonProcessingException {
        String id = requestId(idempotencyKey, "cmpl-");
        OpenAiRequests.Mapped mapped = requests().completion(read(body), id);
        return complete(mapped, false);
    }

    @POST
    @Path("/chat/completions")
    @RolesAllowed(Roles.CLIENT)
    @Consumes(MediaType.WILDCARD)
    @Operation(summary = "OpenAI-compatible chat completion", description = "The messages are rendered through the served "
            + "model's chat template (steergate.openai.chat-template); otherwise as POST /v1/completions.")
    @APIResponse(responseCode = "200", description = "A chat.completion")
    @APIResponse(responseCode = "400", description = "{error} naming the field in param")
    @APIResponse(responseCode = "404", description = "The model is not served")
    @APIResponse(responseCode = "422", description = "OUTPUT_WITHHELD by the policy")
    @APIResponse(responseCode = "429", description = "QUOTA_EXCEEDED; Retry-After")
    public Response chatCompletions(byte[] body, @HeaderParam(IDEMPOTENCY_KEY) String idempotencyKey)
            throws InterruptedException, JsonProcessingException {
        String id = requestId(idempotencyKey, "chatcmpl-");
        OpenAiRequests.Mapped mapped = requests().chat(read(body), id, templates.served());
        return complete(mapped, true);
    }

    @GET
    @Path("/models")
    @RolesAllowed({Roles.CLIENT, Roles.OPERATOR})
    @Operation(summary = "OpenAI-compatible list of the served models")
    @APIResponse(responseCode = "200", description = "{object: list, data: [{id, object: model, created, owned_by}]}")
    public ObjectNode models() {
        ObjectNode list = json.createObjectNode().put("object", "list");
        // created is unknown for a model read from a directory: 0, which OpenAI clients accept
        list.putArray("data").addObject().put("id", generations.servedModel()).put("object", "model").put("created", 0L)
                .put("owned_by", "steergate");
        return list;
    }

    private Response complete(OpenAiRequests.Mapped mapped, boolean chat) throws InterruptedException, JsonProcessingException {
        if (caller.onlyTenant().isEmpty()) {
            throw new ApiError(403, ErrorCode.FORBIDDEN, "the OpenAI-compatible API takes the tenant from the credential: "
                    + "use an API key or token for exactly one tenant");
        }
        Response answer = generations.generate(json.writeValueAsBytes(mapped.request()));
        if (answer.getStatus() != 200) {
            return answer;
        }
        GenerationResult result = readResult((String) answer.getEntity());
        Stored stored = stored(result, mapped);
        return Response.ok(chat ? chatCompletion(result, stored) : textCompletion(result, stored)).build();
    }

    private GenerationResult readResult(String resultJson) {
        try {
            return json.readValue(resultJson, GenerationResult.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored result is unreadable", e);
        }
    }

    private ObjectNode textCompletion(GenerationResult result, Stored stored) {
        ObjectNode completion = head(result, "text_completion", stored);
        ObjectNode choice = completion.putArray("choices").addObject();
        choice.put("text", result.text()).put("index", 0).putNull("logprobs");
        choice.put("finish_reason", finishReason(result, stored));
        return tail(completion, result);
    }

    private ObjectNode chatCompletion(GenerationResult result, Stored stored) {
        ObjectNode completion = head(result, "chat.completion", stored);
        ObjectNode choice = completion.putArray("choices").addObject().put("index", 0);
        choice.putObject("message").put("role", "assistant").put("content", result.text()).putNull("refusal");
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason(result, stored));
        return tail(completion, result);
    }

    private ObjectNode head(GenerationResult result, String object, Stored stored) {
        ObjectNode completion = json.createObjectNode();
        completion.put("id", result.id()).put("object", object).put("created", stored.acceptedAt().getEpochSecond())
                .put("model", result.model() == null ? generations.servedModel() : result.model().name());
        return completion;
    }

    /** usage, and SteerGate's extension: what the policy applied and how the output scored. */
    private ObjectNode tail(ObjectNode completion, GenerationResult result) {
        int prompt = result.usage() == null ? 0 : result.usage().promptTokens();
        int generated = result.usage() == null ? 0 : result.usage().completionTokens();
        completion.putObject("usage").put("prompt_tokens", prompt).put("completion_tokens", generated)
                .put("total_tokens", prompt + generated);
        ObjectNode steergate = completion.putObject("steergate");
        steergate.set("model", json.valueToTree(result.model()));
        steergate.set("policy", json.valueToTree(result.policy()));
        steergate.set("applied", json.valueToTree(result.applied()));
        steergate.set("scores", json.valueToTree(result.scores()));
        if (result.flagged() != null) {
            steergate.set("flagged", json.valueToTree(result.flagged()));
        }
        if (result.counterfactual() != null) {
            steergate.put("counterfactual", result.counterfactual());
        }
        return completion;
    }

    /** "length" when generation ran to max_tokens, "stop" when the model ended its text first. */
    private static String finishReason(GenerationResult result, Stored stored) {
        return result.usage() != null && result.usage().completionTokens() >= stored.maxTokens() ? "length" : "stop";
    }

    /** When the request was accepted and the max_tokens it was generated under: the same for every replay of its id. */
    private record Stored(Instant acceptedAt, int maxTokens) {}

    private Stored stored(GenerationResult result, OpenAiRequests.Mapped mapped) {
        Optional<Generation> row = Generation.byTenantAndRequestId(result.tenant(), result.id());
        int maxTokens = mapped.maxTokens();
        if (row.isPresent() && row.get().requestJson != null) {
            try {
                JsonNode asked = json.readTree(row.get().requestJson).get("maxTokens");
                maxTokens = asked != null && asked.canConvertToInt() ? asked.intValue() : maxTokens;
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("stored request is unreadable", e);
            }
        }
        return new Stored(row.map(stored -> stored.acceptedAt).orElseGet(Instant::now), maxTokens);
    }

    private static String requestId(String idempotencyKey, String generatedPrefix) {
        if (idempotencyKey == null) {
            return generatedPrefix + UUID.randomUUID();
        }
        if (!Identifiers.REQUEST_ID.matcher(idempotencyKey).matches()) {
            throw ApiError.badField(IDEMPOTENCY_KEY, "must be 1-128 characters of [A-Za-z0-9._:-] (it is the request id)");
        }
        return idempotencyKey;
    }

    private OpenAiRequests requests() {
        return new OpenAiRequests(json, generations.servedModel(), RequestLimits.DEFAULT_MAX_TOKENS);
    }

    private JsonNode read(byte[] body) {
        if (body.length > limits.messageBytes()) {
            throw new ApiError(413, ErrorCode.MESSAGE_TOO_LARGE, "body: " + body.length + " bytes exceeds the limit of "
                    + limits.messageBytes());
        }
        ObjectReader strict = json.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);
        try {
            return strict.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiError.badField("body", "not valid JSON");
        } catch (java.io.IOException e) {
            throw ApiError.badField("body", "unreadable");
        }
    }
}
