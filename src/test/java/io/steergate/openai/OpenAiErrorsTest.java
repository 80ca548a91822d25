package io.steergate.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** SteerGate's {code, message} as OpenAI's error object: type by status, param in OpenAI's spelling. */
class OpenAiErrorsTest {

    @SuppressWarnings("unchecked")
    static Map<String, Object> inner(int status, ErrorInfo error, boolean chat) {
        return (Map<String, Object>) OpenAiErrors.body(status, error, chat).get("error");
    }

    @Test
    void theNativeFieldNamesBecomeOpenAisAndTheTypeFollowsTheStatus() {
        Map<String, Object> error = inner(400, ErrorInfo.of(ErrorCode.INVALID_REQUEST, "maxTokens: must be between 1 and 512, got 0"), false);
        assertEquals("max_tokens: must be between 1 and 512, got 0", error.get("message"));
        assertEquals("max_tokens", error.get("param"));
        assertEquals("invalid_request_error", error.get("type"));
        assertEquals("INVALID_REQUEST", error.get("code"));
        assertEquals("messages", inner(400, ErrorInfo.of(ErrorCode.INVALID_REQUEST, "prompt: must be at most 8 characters"), true).get("param"));
        assertEquals("rate_limit_error", inner(429, ErrorInfo.of(ErrorCode.QUOTA_EXCEEDED, "requests quota: 3 requests per minute"), false).get("type"));
        assertEquals("authentication_error", inner(401, ErrorInfo.of(ErrorCode.UNAUTHENTICATED, "a valid credential is required"), false).get("type"));
        assertEquals("permission_error", inner(403, ErrorInfo.of(ErrorCode.FORBIDDEN, "the credential's roles do not allow this"), false).get("type"));
        assertEquals("server_error", inner(503, ErrorInfo.of(ErrorCode.UNAVAILABLE, "the gateway is starting"), false).get("type"));
        Map<String, Object> withheld = inner(422, ErrorInfo.of(ErrorCode.OUTPUT_WITHHELD, "every rung was flagged"), false);
        assertEquals(null, withheld.get("param"));
        assertEquals("OUTPUT_WITHHELD", withheld.get("code"));
    }
}
