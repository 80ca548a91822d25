package io.steergate.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.smallrye.common.annotation.Blocking;
import io.vertx.core.http.HttpServerResponse;
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
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
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
    /** The chat door's method: OpenAiErrors names a chat's rendered prompt "messages". */
    static final String CHAT_METHOD = "chatCompletions";

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

    @Inject
    OpenAiShapes shapes;

    @Inject
    OpenAiStream stream;

    @POST
    @Path("/completions")
    @RolesAllowed(Roles.CLIENT)
    @Consumes(MediaType.WILDCARD)
    @Operation(summary = "OpenAI-compatible text completion", description = "OpenAI's body plus steering, styles, labels; "
            + "the Idempotency-Key header is the request id. README \"OpenAI-compatible API\" lists the fields.")
    @Produces({MediaType.APPLICATION_JSON, OpenAiStream.EVENT_STREAM})
    @APIResponse(responseCode = "200", description = "A text_completion, or with \"stream\": true Server-Sent Events of "
            + "text_completion chunks ending with data: [DONE]")
    @APIResponse(responseCode = "400", description = "{error} naming the field in param (n > 1, stop are refused)")
    @APIResponse(responseCode = "404", description = "The model is not served")
    @APIResponse(responseCode = "422", description = "OUTPUT_WITHHELD by the policy")
    @APIResponse(responseCode = "429", description = "QUOTA_EXCEEDED; Retry-After")
    public Response completions(byte[] body, @HeaderParam(IDEMPOTENCY_KEY) String idempotencyKey,
            @Context HttpServerResponse connection) throws InterruptedException, JsonProcessingException {
        String id = requestId(idempotencyKey, "cmpl-");
        OpenAiRequests.Mapped mapped = requests().completion(read(body), id);
        return complete(mapped, false, connection);
    }

    @POST
    @Path("/chat/completions")
    @RolesAllowed(Roles.CLIENT)
    @Consumes(MediaType.WILDCARD)
    @Operation(summary = "OpenAI-compatible chat completion", description = "The messages are rendered through the served "
            + "model's chat template (steergate.openai.chat-template); otherwise as POST /v1/completions.")
    @Produces({MediaType.APPLICATION_JSON, OpenAiStream.EVENT_STREAM})
    @APIResponse(responseCode = "200", description = "A chat.completion, or with \"stream\": true Server-Sent Events of "
            + "chat.completion.chunk ending with data: [DONE]")
    @APIResponse(responseCode = "400", description = "{error} naming the field in param")
    @APIResponse(responseCode = "404", description = "The model is not served")
    @APIResponse(responseCode = "422", description = "OUTPUT_WITHHELD by the policy")
    @APIResponse(responseCode = "429", description = "QUOTA_EXCEEDED; Retry-After")
    public Response chatCompletions(byte[] body, @HeaderParam(IDEMPOTENCY_KEY) String idempotencyKey,
            @Context HttpServerResponse connection) throws InterruptedException, JsonProcessingException {
        String id = requestId(idempotencyKey, "chatcmpl-");
        OpenAiRequests.Mapped mapped = requests().chat(read(body), id, templates.served());
        return complete(mapped, true, connection);
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

    private Response complete(OpenAiRequests.Mapped mapped, boolean chat, HttpServerResponse connection)
            throws InterruptedException, JsonProcessingException {
        if (caller.onlyTenant().isEmpty()) {
            throw new ApiError(403, ErrorCode.FORBIDDEN, "the OpenAI-compatible API takes the tenant from the credential: "
                    + "use an API key or token for exactly one tenant");
        }
        byte[] request = json.writeValueAsBytes(mapped.request());
        if (mapped.stream()) {
            return stream.answer(request, mapped, chat, connection);
        }
        Response answer = generations.generate(request);
        if (answer.getStatus() != 200) {
            return answer;
        }
        GenerationResult result = shapes.read((String) answer.getEntity());
        // JSON whatever Accept prefers: only "stream": true answers text/event-stream
        return Response.ok(shapes.completion(result, shapes.stored(result.tenant(), result.id(), mapped), chat))
                .type(MediaType.APPLICATION_JSON_TYPE).build();
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
