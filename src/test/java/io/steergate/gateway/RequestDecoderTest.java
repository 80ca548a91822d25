package io.steergate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.messages.GenerationRequest;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Plain JUnit: every rule of the GenerationRequest contract, and which bad inputs are unreadable vs rejected. */
class RequestDecoderTest {

    private final RequestDecoder decoder = new RequestDecoder(new ObjectMapper(), new RequestLimits(100, 512, 4096));

    private DecodedRequest decode(String text) {
        return decoder.decode(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void validRequestGetsDefaults() {
        DecodedRequest decoded = decode("{\"id\":\"req-1\",\"tenant\":\"acme\",\"prompt\":\"Once upon a time\"}");
        GenerationRequest request = assertInstanceOf(DecodedRequest.Valid.class, decoded).request();
        assertEquals(64, request.maxTokens());
        assertEquals(0.0, request.temperature());
        assertEquals(1.0, request.topP());
        assertNull(request.seed());
    }

    @Test
    void everyContractFieldIsAccepted() {
        DecodedRequest decoded = decode("""
                {"id":"a.B:c-9_x","tenant":"acme-2","prompt":"p","maxTokens":512,"temperature":2,"topP":0.5,"seed":-7,
                 "styles":["cheerful"],"labels":{"channel":"kids"},"steering":[{"intervention":"no-dogs","strength":0.5}]}""");
        GenerationRequest request = assertInstanceOf(DecodedRequest.Valid.class, decoded).request();
        assertEquals(512, request.maxTokens());
        assertEquals(-7L, request.seed());
        assertEquals("kids", request.labels().get("channel"));
        assertEquals(0.5, request.steering().get(0).strength());
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "not json at all                          | NOT_JSON      | message: not JSON",
        "[1,2,3]                                  | NOT_AN_OBJECT | message: must be a JSON object, got an array",
        "'\"just a string\"'                      | NOT_AN_OBJECT | message: must be a JSON object, got a string",
        "{\"tenant\":\"acme\",\"prompt\":\"p\"}   | INVALID_ID    | id: missing",
        "{\"id\":42,\"tenant\":\"acme\"}          | INVALID_ID    | id: must be a string, got an integer",
        "{\"id\":\"has space\"}                   | INVALID_ID    | id: must be 1-128 characters",
        "{\"id\":\"\"}                            | INVALID_ID    | id: must be 1-128 characters",
        "{\"id\":\"a\"} trailing                  | NOT_JSON      | message: not JSON",
        "''                                       | NOT_JSON      | message: empty",
    })
    void unreadableMessagesGoToTheDeadLetterTopic(String text, String code, String message) {
        DecodedRequest.Unreadable unreadable = assertInstanceOf(DecodedRequest.Unreadable.class, decode(text));
        assertEquals(code, unreadable.error().code());
        assertTrue(unreadable.error().message().startsWith(message), unreadable.error().message());
    }

    @Test
    void idOver128CharactersIsUnreadable() {
        String id = "x".repeat(129);
        DecodedRequest.Unreadable unreadable = assertInstanceOf(DecodedRequest.Unreadable.class,
                decode("{\"id\":\"" + id + "\",\"tenant\":\"acme\",\"prompt\":\"p\"}"));
        assertEquals("id: must be 1-128 characters of [A-Za-z0-9._:-], got 129 characters", unreadable.error().message());
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "\"prompt\":\"p\"                                   | tenant: missing",
        "\"tenant\":\"ACME\",\"prompt\":\"p\"               | tenant: must be 1-64 characters of [a-z0-9-]",
        "\"tenant\":7,\"prompt\":\"p\"                      | tenant: must be a string, got an integer",
        "\"tenant\":\"acme\"                                | prompt: missing",
        "\"tenant\":\"acme\",\"prompt\":\"\"                | prompt: must not be empty",
        "\"tenant\":\"acme\",\"prompt\":[\"p\"]             | prompt: must be a string, got an array",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"maxTokens\":0        | maxTokens: must be between 1 and 512, got 0",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"maxTokens\":100000   | maxTokens: must be between 1 and 512, got 100000",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"maxTokens\":99999999999 | maxTokens: out of range, got 99999999999",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"maxTokens\":\"64\"   | maxTokens: must be an integer, got a string",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"maxTokens\":6.5      | maxTokens: must be an integer, got a number",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"temperature\":-1     | temperature: must be between 0 and 2, got -1.0",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"temperature\":true   | temperature: must be a number, got a boolean",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"topP\":0             | topP: must be in (0, 1], got 0.0",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"topP\":1.5           | topP: must be in (0, 1], got 1.5",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"seed\":1.5           | seed: must be a 64-bit integer, got a number",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"styles\":\"cheerful\" | styles: must be an array of strings, got a string",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"styles\":[1]         | styles[0]: must be a non-empty string, got an integer",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"labels\":{\"a\":1}   | labels.a: must be a string, got an integer",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"steering\":[{\"strength\":0.5}] | steering[0].intervention: must be a non-empty string",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"steering\":[{\"intervention\":\"x\",\"strength\":2}] | steering[0].strength: must be between 0 and 1, got 2.0",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"colour\":\"red\"     | colour: unknown field",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"\\u0000\":1          | \\u0000: unknown field",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"styles\":[\"a\\u0000\"] | styles[0]: must not contain control characters (U+0000-U+001F, U+007F-U+009F)",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"labels\":{\"k\\n\":\"v\"} | labels.k\\u000a (the key): must not contain control characters (U+0000-U+001F, U+007F-U+009F)",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"labels\":{\"k\":\"v\\u0000\"} | labels.k: must not contain control characters (U+0000-U+001F, U+007F-U+009F)",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"steering\":[{\"intervention\":\"x\\u0007\"}] | steering[0].intervention: must not contain control characters (U+0000-U+001F, U+007F-U+009F)",
        // C1 controls too (HostileInputIT found U+0080-U+009F let through), escaped or raw
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"styles\":[\"a\\u0085\"] | styles[0]: must not contain control characters (U+0000-U+001F, U+007F-U+009F)",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"labels\":{\"k\\u009f\":\"v\"} | labels.k\\u009f (the key): must not contain control characters (U+0000-U+001F, U+007F-U+009F)",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"labels\":{\"k\":\"v\u0080\"} | labels.k: must not contain control characters (U+0000-U+001F, U+007F-U+009F)",
        "\"tenant\":\"acme\",\"prompt\":\"p\",\"steering\":[{\"intervention\":\"x\\u007f\"}] | steering[0].intervention: must not contain control characters (U+0000-U+001F, U+007F-U+009F)",
    })
    void readableIdWithBadFieldIsRejectedNamingTheField(String fields, String message) {
        DecodedRequest.Invalid invalid = assertInstanceOf(DecodedRequest.Invalid.class, decode("{\"id\":\"req-9\"," + fields + "}"));
        assertEquals("req-9", invalid.id());
        assertEquals("INVALID_REQUEST", invalid.error().code());
        assertEquals(message, invalid.error().message());
    }

    @Test
    void manyUnknownFieldsAreCountedNotListed() {
        StringBuilder body = new StringBuilder("{\"id\":\"r\",\"tenant\":\"acme\",\"prompt\":\"p\"");
        for (int i = 0; i < 40_000; i++) {
            body.append(",\"f").append(i).append("\":1");
        }
        RequestDecoder roomy = new RequestDecoder(new ObjectMapper(), new RequestLimits(100, 512, 1 << 20));
        DecodedRequest.Invalid invalid = assertInstanceOf(DecodedRequest.Invalid.class,
                roomy.decode(body.append('}').toString().getBytes(StandardCharsets.UTF_8)));
        assertEquals("f0: unknown field; f1: unknown field; f2: unknown field; f3: unknown field; f4: unknown field; "
                + "and 39995 more unknown fields", invalid.error().message());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "styles   | [\"s\",\"s\",\"s\",\"s\",\"s\",\"s\",\"s\",\"s\",\"s\",\"s\",\"s\",\"s\",\"s\",\"s\",\"s\",\"s\",\"s\"] | styles: at most 16 entries, got 17",
        "steering | [{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"},{\"intervention\":\"a\"}] | steering: at most 16 asks, got 17",
    })
    void listsOverTheirCapAreRejectedNamingTheCap(String field, String value, String message) {
        DecodedRequest.Invalid invalid = assertInstanceOf(DecodedRequest.Invalid.class,
                decode("{\"id\":\"r\",\"tenant\":\"acme\",\"prompt\":\"p\",\"" + field + "\":" + value + "}"));
        assertEquals(message, invalid.error().message());
    }

    @Test
    void labelsAndNamesOverTheirLengthAreRejected() {
        StringBuilder labels = new StringBuilder("{");
        for (int i = 0; i < 17; i++) {
            labels.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
        }
        assertEquals("labels: at most 16 entries, got 17", assertInstanceOf(DecodedRequest.Invalid.class,
                decode("{\"id\":\"r\",\"tenant\":\"acme\",\"prompt\":\"p\",\"labels\":" + labels + "}}")).error().message());
        assertEquals("styles[0]: must be at most 64 characters, got 65", assertInstanceOf(DecodedRequest.Invalid.class,
                decode("{\"id\":\"r\",\"tenant\":\"acme\",\"prompt\":\"p\",\"styles\":[\"" + "s".repeat(65) + "\"]}")).error().message());
        assertEquals("labels.k: must be at most 256 characters, got 257", assertInstanceOf(DecodedRequest.Invalid.class,
                decode("{\"id\":\"r\",\"tenant\":\"acme\",\"prompt\":\"p\",\"labels\":{\"k\":\"" + "v".repeat(257) + "\"}}")).error().message());
    }

    @Test
    void aPromptKeepsItsControlCharactersExactly() {
        DecodedRequest.Valid valid = assertInstanceOf(DecodedRequest.Valid.class,
                decode("{\"id\":\"r\",\"tenant\":\"acme\",\"prompt\":\"a\\u0000b\\nc\"}"));
        assertEquals("a\u0000b\nc", valid.request().prompt());
    }

    @Test
    void severalBadFieldsAreAllNamed() {
        DecodedRequest.Invalid invalid = assertInstanceOf(DecodedRequest.Invalid.class, decode("{\"id\":\"r\",\"prompt\":\"\"}"));
        assertEquals("tenant: missing; prompt: must not be empty", invalid.error().message());
    }

    @Test
    void promptOverTheLimitIsRejected() {
        DecodedRequest.Invalid invalid = assertInstanceOf(DecodedRequest.Invalid.class,
                decode("{\"id\":\"r\",\"tenant\":\"acme\",\"prompt\":\"" + "a".repeat(101) + "\"}"));
        assertEquals("prompt: must be at most 100 characters, got 101", invalid.error().message());
    }

    @Test
    void bytesThatAreNotUtf8AreRejectedNamingTheFieldWhenTheIdIsReadable() {
        byte[] raw = "{\"id\":\"r-1\",\"tenant\":\"acme\",\"prompt\":\"caf\u00e9\"}".getBytes(StandardCharsets.ISO_8859_1);
        DecodedRequest.Invalid invalid = assertInstanceOf(DecodedRequest.Invalid.class, decoder.decode(raw));
        assertEquals("INVALID_ENCODING", invalid.error().code());
        assertEquals("prompt: not valid UTF-8", invalid.error().message());
        assertEquals("acme", invalid.tenant());
    }

    @Test
    void bytesThatAreNotUtf8NorJsonAreUnreadable() {
        DecodedRequest.Unreadable unreadable = assertInstanceOf(DecodedRequest.Unreadable.class,
                decoder.decode(new byte[] {(byte) 0xff, (byte) 0xfe, 0x00, (byte) 0xc3}));
        assertEquals("INVALID_ENCODING", unreadable.error().code());
    }

    @Test
    void oversizedMessageWithReadableIdIsRejectedWithoutParsingIt() {
        String text = "{\"id\":\"big-1\",\"tenant\":\"acme\",\"prompt\":\"" + "a".repeat(5000) + "\"}";
        DecodedRequest.Invalid invalid = assertInstanceOf(DecodedRequest.Invalid.class, decode(text));
        assertEquals("MESSAGE_TOO_LARGE", invalid.error().code());
        assertEquals("message: " + text.length() + " bytes exceeds the limit of 4096", invalid.error().message());
    }

    @Test
    void oversizedMessageWithoutIdIsUnreadable() {
        DecodedRequest.Unreadable unreadable = assertInstanceOf(DecodedRequest.Unreadable.class, decode("x".repeat(5000)));
        assertEquals("MESSAGE_TOO_LARGE", unreadable.error().code());
    }

    @Test
    void duplicateKeysAreRefused() {
        assertInstanceOf(DecodedRequest.Unreadable.class, decode("{\"id\":\"a\",\"id\":\"b\"}"));
    }

    @Test
    void nullValueIsUnreadable() {
        assertInstanceOf(DecodedRequest.Unreadable.class, decoder.decode(null));
    }
}
