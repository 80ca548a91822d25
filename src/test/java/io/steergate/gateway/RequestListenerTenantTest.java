package io.steergate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.messages.ErrorCode;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The per-tenant mode's rule: a request read from steer.requests.<tenant> is that tenant's, whatever its body says. */
class RequestListenerTenantTest {

    private static final String TOPIC = "steer.requests.acme";
    private final RequestDecoder decoder = new RequestDecoder(new ObjectMapper(), new RequestLimits(8000, 512, 4096, 16, 64, 256));

    private DecodedRequest read(String json) {
        DecodedRequest decoded = decoder.decode(json.getBytes(StandardCharsets.UTF_8), "acme");
        return RequestListener.boundTo("acme", TOPIC, decoded);
    }

    @Test
    void aBodyWithoutATenantOrNamingTheTopicsIsTheTopicsTenants() {
        DecodedRequest missing = read("{\"id\":\"r1\",\"prompt\":\"Once\"}");
        assertInstanceOf(DecodedRequest.Valid.class, missing);
        assertEquals("acme", missing.tenant());
        DecodedRequest same = read("{\"id\":\"r2\",\"tenant\":\"acme\",\"prompt\":\"Once\"}");
        assertInstanceOf(DecodedRequest.Valid.class, same);
        assertEquals("acme", same.tenant());
    }

    @Test
    void aBodyNamingAnotherTenantIsRefusedUnderTheTopicsTenant() {
        DecodedRequest.Invalid refused = assertInstanceOf(DecodedRequest.Invalid.class,
                read("{\"id\":\"r3\",\"tenant\":\"kids-co\",\"prompt\":\"Once\"}"));
        assertEquals("r3", refused.id());
        assertEquals("acme", refused.tenant());
        assertEquals(ErrorCode.TENANT_MISMATCH.name(), refused.error().code());
        assertEquals("tenant: the body names kids-co, but requests on steer.requests.acme are acme's; omit the field or name acme",
                refused.error().message());
    }

    @Test
    void aRejectionWithoutAReadableTenantIsAnsweredToTheTopicsTenant() {
        DecodedRequest.Invalid invalid = assertInstanceOf(DecodedRequest.Invalid.class,
                read("{\"id\":\"r4\",\"tenant\":\"Not A Tenant\",\"prompt\":\"Once\"}"));
        assertEquals("acme", invalid.tenant());
        assertEquals(ErrorCode.INVALID_REQUEST.name(), invalid.error().code());
        DecodedRequest.Invalid tooLarge = assertInstanceOf(DecodedRequest.Invalid.class,
                read("{\"id\":\"r5\",\"tenant\":\"kids-co\",\"prompt\":\"" + "a".repeat(5000) + "\"}"));
        assertEquals("acme", tooLarge.tenant());
        assertEquals(ErrorCode.MESSAGE_TOO_LARGE.name(), tooLarge.error().code());
    }

    @Test
    void anUnreadableMessageStaysUnreadable() {
        DecodedRequest unreadable = decoder.decode(new byte[] {1, 2, 3}, "acme");
        assertSame(unreadable, RequestListener.boundTo("acme", TOPIC, unreadable));
    }
}
