package io.steergate.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.steergate.gateway.Generation;
import io.steergate.gateway.SynchronousGenerations;
import io.steergate.messages.GenerationResult;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.Optional;

/**
 * OpenAI's shapes of a generation: the text_completion and chat.completion of a result, and the chunks of a stream
 * (text_completion chunks; chat.completion.chunk with the role first, then content deltas, then an empty delta with
 * the finish_reason). SteerGate's extension ({@code steergate}: policy, applied plan, scores) is on the completion and
 * on a stream's last chunk.
 */
@ApplicationScoped
class OpenAiShapes {

    static final String TEXT_COMPLETION = "text_completion";
    static final String CHAT_COMPLETION = "chat.completion";
    static final String CHAT_CHUNK = "chat.completion.chunk";

    @Inject
    ObjectMapper json;

    @Inject
    SynchronousGenerations generations;

    /** When a request was accepted, the max_tokens it was generated under and its delivered escalation attempt. */
    record Stored(Instant acceptedAt, int maxTokens, int attempt) {}

    /** What is stored for a tenant's request (fresh from the database), or, for a request not stored, now and {@code mapped}'s. */
    Stored stored(String tenant, String id, OpenAiRequests.Mapped mapped) {
        Optional<Generation> row = QuarkusTransaction.requiringNew().call(() -> Generation.byTenantAndRequestId(tenant, id));
        int maxTokens = mapped.maxTokens();
        if (row.isPresent() && row.get().requestJson != null) {
            try {
                JsonNode asked = json.readTree(row.get().requestJson).get("maxTokens");
                maxTokens = asked != null && asked.canConvertToInt() ? asked.intValue() : maxTokens;
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("stored request is unreadable", e);
            }
        }
        return new Stored(row.map(stored -> stored.acceptedAt).orElseGet(Instant::now), maxTokens,
                row.map(stored -> stored.attempt).orElse(0));
    }

    GenerationResult read(String resultJson) {
        try {
            return json.readValue(resultJson, GenerationResult.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored result is unreadable", e);
        }
    }

    ObjectNode completion(GenerationResult result, Stored stored, boolean chat) {
        ObjectNode completion = head(result.id(), chat ? CHAT_COMPLETION : TEXT_COMPLETION, stored.acceptedAt(), model(result));
        ObjectNode choice = completion.putArray("choices").addObject();
        if (chat) {
            choice.put("index", 0);
            choice.putObject("message").put("role", "assistant").put("content", result.text()).putNull("refusal");
            choice.putNull("logprobs");
        } else {
            choice.put("text", result.text()).put("index", 0).putNull("logprobs");
        }
        choice.put("finish_reason", finishReason(result, stored));
        completion.set("usage", usage(result));
        completion.set("steergate", steergate(result));
        return completion;
    }

    /** The first chunk of a chat stream: the assistant's role, no content yet. */
    ObjectNode roleChunk(String id, Instant created) {
        ObjectNode chunk = head(id, CHAT_CHUNK, created, generations.servedModel());
        choice(chunk).putObject("delta").put("role", "assistant").put("content", "");
        return chunk;
    }

    /** A chunk of {@code text}: what the output grew by. */
    ObjectNode textChunk(String id, Instant created, String text, boolean chat) {
        ObjectNode chunk = head(id, chat ? CHAT_CHUNK : TEXT_COMPLETION, created, generations.servedModel());
        if (chat) {
            choice(chunk).putObject("delta").put("content", text);
        } else {
            choice(chunk).put("text", text);
        }
        return chunk;
    }

    /** The last chunk with a choice: no text, the finish_reason and SteerGate's extension. */
    ObjectNode lastChunk(GenerationResult result, Stored stored, Instant created, boolean chat) {
        ObjectNode chunk = head(result.id(), chat ? CHAT_CHUNK : TEXT_COMPLETION, created, model(result));
        ObjectNode choice = choice(chunk);
        if (chat) {
            choice.putObject("delta");
        } else {
            choice.put("text", "");
        }
        choice.put("finish_reason", finishReason(result, stored));
        chunk.set("steergate", steergate(result));
        return chunk;
    }

    /** stream_options.include_usage's chunk after the last: no choices, the usage. */
    ObjectNode usageChunk(GenerationResult result, Instant created, boolean chat) {
        ObjectNode chunk = head(result.id(), chat ? CHAT_CHUNK : TEXT_COMPLETION, created, model(result));
        chunk.putArray("choices");
        chunk.set("usage", usage(result));
        return chunk;
    }

    private ObjectNode head(String id, String object, Instant created, String model) {
        ObjectNode head = json.createObjectNode();
        return head.put("id", id).put("object", object).put("created", created.getEpochSecond()).put("model", model);
    }

    /** A chunk's one choice, its fields in OpenAI's order; the caller adds delta or text. */
    private static ObjectNode choice(ObjectNode chunk) {
        ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        return choice;
    }

    private String model(GenerationResult result) {
        return result.model() == null ? generations.servedModel() : result.model().name();
    }

    private ObjectNode usage(GenerationResult result) {
        int prompt = result.usage() == null ? 0 : result.usage().promptTokens();
        int generated = result.usage() == null ? 0 : result.usage().completionTokens();
        return json.createObjectNode().put("prompt_tokens", prompt).put("completion_tokens", generated)
                .put("total_tokens", prompt + generated);
    }

    /** SteerGate's extension: what the policy applied and how the output scored. */
    private ObjectNode steergate(GenerationResult result) {
        ObjectNode steergate = json.createObjectNode();
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
        return steergate;
    }

    /** "length" when generation ran to max_tokens, "stop" when the model ended its text first. */
    private static String finishReason(GenerationResult result, Stored stored) {
        return result.usage() != null && result.usage().completionTokens() >= stored.maxTokens() ? "length" : "stop";
    }
}
