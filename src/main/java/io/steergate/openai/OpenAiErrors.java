package io.steergate.openai;

import io.steergate.messages.ErrorInfo;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.core.MediaType;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jboss.resteasy.reactive.server.ServerResponseFilter;
import org.jboss.resteasy.reactive.server.SimpleResourceInfo;

/**
 * OpenAI's error shape on the OpenAI-compatible resource: every {code, message} answered there (by the resource, the
 * generation path or app.ErrorMapper: 401, 403, 429, 503, ...) is rewritten as
 * {@code {"error": {"message", "type", "param", "code"}}} with the same status and headers. code is SteerGate's
 * ErrorCode; param is the field the message names, in OpenAI's spelling.
 */
public class OpenAiErrors {

    /** Messages name their field first: "maxTokens: must be between 1 and 512, got 0". */
    private static final Pattern FIELD = Pattern.compile("^([A-Za-z_][A-Za-z0-9_.\\[\\]-]*): ");
    /** The GenerationRequest's names that OpenAI spells otherwise. */
    private static final Map<String, String> OPENAI_NAMES = Map.of("maxTokens", "max_tokens", "topP", "top_p");

    /**
     * By the resource that answered, not the path's spelling: the framework routes {@code /v1/completions/} (and other
     * spellings) there too. Always JSON: the OpenAI resources also produce text/event-stream, which a client's Accept
     * would otherwise pick for the error.
     */
    @ServerResponseFilter
    public void openAiShape(ContainerResponseContext response, SimpleResourceInfo resource) {
        if (response.getEntity() instanceof ErrorInfo error && resource != null
                && resource.getResourceClass() == OpenAiResource.class) {
            boolean chat = OpenAiResource.CHAT_METHOD.equals(resource.getMethodName());
            response.setEntity(body(response.getStatus(), error, chat), response.getEntityAnnotations(),
                    MediaType.APPLICATION_JSON_TYPE);
        }
    }

    static Map<String, Object> body(int status, ErrorInfo error, boolean chat) {
        String message = error.message();
        String param = null;
        Matcher field = FIELD.matcher(message);
        if (field.find()) {
            param = OPENAI_NAMES.getOrDefault(field.group(1), field.group(1));
            if (chat && "prompt".equals(param)) {
                // a chat's prompt is its rendered messages
                param = "messages";
            }
            message = param + ": " + message.substring(field.end());
        }
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("message", message);
        inner.put("type", type(status));
        inner.put("param", param);
        inner.put("code", error.code());
        return Map.of("error", inner);
    }

    private static String type(int status) {
        if (status == 401) {
            return "authentication_error";
        }
        if (status == 403) {
            return "permission_error";
        }
        if (status == 429) {
            return "rate_limit_error";
        }
        return status >= 500 ? "server_error" : "invalid_request_error";
    }
}
