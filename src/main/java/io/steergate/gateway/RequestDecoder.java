package io.steergate.gateway;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.GenerationRequest;
import io.steergate.messages.GenerationRequest.SteeringAsk;
import io.steergate.messages.Identifiers;
import io.steergate.messages.SafeText;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns raw request bytes into a {@link DecodedRequest}, checking every field of the GenerationRequest (docs/architecture.md 4.2)
 * contract. Pure: no I/O, safe to share between threads. Errors name the field ("prompt: must not be empty").
 */
public final class RequestDecoder {

    static final Pattern ID = Identifiers.REQUEST_ID;
    static final Pattern TENANT = Identifiers.TENANT;
    private static final Set<String> FIELDS = Set.of(
            "id", "tenant", "prompt", "maxTokens", "temperature", "topP", "seed", "styles", "labels", "steering");
    private static final char REPLACEMENT = '\uFFFD';
    /** An error message names this many unknown fields, then counts the rest: it stays small whatever was sent. */
    private static final int NAMED_UNKNOWN_FIELDS = 5;

    private final ObjectMapper json;
    private final ObjectReader strictReader;
    private final RequestLimits limits;

    public RequestDecoder(ObjectMapper json, RequestLimits limits) {
        this.json = json;
        // Trailing garbage and repeated keys make a message ambiguous: refuse them rather than guess.
        this.strictReader = json.reader()
                .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);
        this.limits = limits;
    }

    public DecodedRequest decode(byte[] raw) {
        return decode(raw, null);
    }

    /**
     * As {@link #decode(byte[])}, for a request whose credential names its tenant: a body without a tenant field is
     * read as if it named {@code credentialTenant} (null: the field stays required). Whether a named tenant is the
     * credential's is the caller's check.
     */
    public DecodedRequest decode(byte[] raw, String credentialTenant) {
        if (raw == null) {
            return unreadable(ErrorCode.NOT_JSON, "message: empty (null value)");
        }
        if (raw.length > limits.messageBytes()) {
            return tooLarge(raw);
        }
        String text;
        boolean badEncoding = false;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            // Decode leniently so a readable id still gets a REJECTED result naming the broken field.
            text = new String(raw, StandardCharsets.UTF_8);
            badEncoding = true;
        }
        JsonNode root;
        try {
            root = strictReader.readTree(text);
        } catch (JsonProcessingException e) {
            return unreadable(badEncoding ? ErrorCode.INVALID_ENCODING : ErrorCode.NOT_JSON,
                    badEncoding ? "message: not valid UTF-8" : "message: not JSON (" + firstLine(e.getOriginalMessage()) + ")");
        }
        if (root == null || root.isMissingNode()) {
            return unreadable(ErrorCode.NOT_JSON, "message: empty");
        }
        if (!root.isObject()) {
            return unreadable(ErrorCode.NOT_AN_OBJECT, "message: must be a JSON object, got " + kind(root));
        }
        JsonNode idNode = root.get("id");
        if (idNode == null || idNode.isNull()) {
            return unreadable(ErrorCode.INVALID_ID, "id: missing");
        }
        if (!idNode.isTextual()) {
            return unreadable(ErrorCode.INVALID_ID, "id: must be a string, got " + kind(idNode));
        }
        String id = idNode.textValue();
        if (!ID.matcher(id).matches()) {
            return unreadable(ErrorCode.INVALID_ID, "id: must be 1-128 characters of [A-Za-z0-9._:-]"
                    + (id.length() > 128 ? ", got " + id.length() + " characters" : ""));
        }
        if (credentialTenant != null && (root.get("tenant") == null || root.get("tenant").isNull())) {
            ((ObjectNode) root).put("tenant", credentialTenant);
        }
        JsonNode tenantNode = root.get("tenant");
        String tenant = tenantNode != null && tenantNode.isTextual() && TENANT.matcher(tenantNode.textValue()).matches()
                ? tenantNode.textValue() : null;
        if (badEncoding) {
            return new DecodedRequest.Invalid(id, tenant,
                    ErrorInfo.of(ErrorCode.INVALID_ENCODING, fieldsWithReplacement((ObjectNode) root) + ": not valid UTF-8"));
        }
        List<String> errors = new ArrayList<>();
        GenerationRequest request = fields((ObjectNode) root, id, errors);
        if (!errors.isEmpty()) {
            return new DecodedRequest.Invalid(id, tenant, ErrorInfo.of(ErrorCode.INVALID_REQUEST, String.join("; ", errors)));
        }
        return new DecodedRequest.Valid(request);
    }

    private GenerationRequest fields(ObjectNode root, String id, List<String> errors) {
        int unknown = 0;
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name) && ++unknown <= NAMED_UNKNOWN_FIELDS) {
                errors.add(shown(name) + ": unknown field");
            }
        }
        if (unknown > NAMED_UNKNOWN_FIELDS) {
            errors.add("and " + (unknown - NAMED_UNKNOWN_FIELDS) + " more unknown fields");
        }
        String tenant = requiredString(root, "tenant", errors);
        if (tenant != null && !TENANT.matcher(tenant).matches()) {
            errors.add("tenant: must be 1-64 characters of [a-z0-9-]");
        }
        String prompt = requiredString(root, "prompt", errors);
        if (prompt != null) {
            if (prompt.isEmpty()) {
                errors.add("prompt: must not be empty");
            } else if (prompt.length() > limits.promptChars()) {
                errors.add("prompt: must be at most " + limits.promptChars() + " characters, got " + prompt.length());
            }
        }
        Integer maxTokens = optionalInt(root, "maxTokens", errors);
        if (maxTokens != null && (maxTokens < 1 || maxTokens > limits.maxTokens())) {
            errors.add("maxTokens: must be between 1 and " + limits.maxTokens() + ", got " + maxTokens);
        }
        Double temperature = optionalNumber(root, "temperature", errors);
        if (temperature != null && !(temperature >= 0 && temperature <= 2)) {
            errors.add("temperature: must be between 0 and 2, got " + temperature);
        }
        Double topP = optionalNumber(root, "topP", errors);
        if (topP != null && !(topP > 0 && topP <= 1)) {
            errors.add("topP: must be in (0, 1], got " + topP);
        }
        Long seed = optionalLong(root, "seed", errors);
        List<String> styles = names(root, "styles", errors);
        Map<String, String> labels = labels(root, errors);
        List<SteeringAsk> steering = steering(root, errors);
        return new GenerationRequest(id, tenant, prompt,
                maxTokens == null ? RequestLimits.DEFAULT_MAX_TOKENS : maxTokens,
                temperature == null ? 0.0 : temperature,
                topP == null ? 1.0 : topP,
                seed, styles, labels, steering);
    }

    private static String requiredString(ObjectNode root, String field, List<String> errors) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            errors.add(field + ": missing");
            return null;
        }
        if (!node.isTextual()) {
            errors.add(field + ": must be a string, got " + kind(node));
            return null;
        }
        return node.textValue();
    }

    private static Integer optionalInt(ObjectNode root, String field, List<String> errors) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isIntegralNumber()) {
            errors.add(field + ": must be an integer, got " + kind(node));
            return null;
        }
        if (!node.canConvertToInt()) {
            errors.add(field + ": out of range, got " + node.asText());
            return null;
        }
        return node.intValue();
    }

    private static Long optionalLong(ObjectNode root, String field, List<String> errors) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isIntegralNumber() || !node.canConvertToLong()) {
            errors.add(field + ": must be a 64-bit integer, got " + kind(node));
            return null;
        }
        return node.longValue();
    }

    private static Double optionalNumber(ObjectNode root, String field, List<String> errors) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isNumber()) {
            errors.add(field + ": must be a number, got " + kind(node));
            return null;
        }
        return node.doubleValue();
    }

    private List<String> names(ObjectNode root, String field, List<String> errors) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isArray()) {
            errors.add(field + ": must be an array of strings, got " + kind(node));
            return null;
        }
        if (node.size() > limits.listItems()) {
            errors.add(field + ": at most " + limits.listItems() + " entries, got " + node.size());
            return null;
        }
        List<String> values = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode item = node.get(i);
            String at = field + "[" + i + "]";
            if (!item.isTextual() || item.textValue().isEmpty()) {
                errors.add(at + ": must be a non-empty string, got " + kind(item));
            } else if (checkText(at, item.textValue(), limits.nameChars(), errors)) {
                values.add(item.textValue());
            }
        }
        return values;
    }

    private Map<String, String> labels(ObjectNode root, List<String> errors) {
        JsonNode node = root.get("labels");
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            errors.add("labels: must be an object of strings, got " + kind(node));
            return null;
        }
        if (node.size() > limits.listItems()) {
            errors.add("labels: at most " + limits.listItems() + " entries, got " + node.size());
            return null;
        }
        Map<String, String> values = new LinkedHashMap<>();
        node.fields().forEachRemaining(entry -> {
            String at = "labels." + shown(entry.getKey());
            if (!entry.getValue().isTextual()) {
                errors.add(at + ": must be a string, got " + kind(entry.getValue()));
            } else if (checkText(at + " (the key)", entry.getKey(), limits.nameChars(), errors)
                    && checkText(at, entry.getValue().textValue(), limits.labelChars(), errors)) {
                values.put(entry.getKey(), entry.getValue().textValue());
            }
        });
        return values;
    }

    private List<SteeringAsk> steering(ObjectNode root, List<String> errors) {
        JsonNode node = root.get("steering");
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isArray()) {
            errors.add("steering: must be an array, got " + kind(node));
            return null;
        }
        if (node.size() > limits.listItems()) {
            errors.add("steering: at most " + limits.listItems() + " asks, got " + node.size());
            return null;
        }
        List<SteeringAsk> asks = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode item = node.get(i);
            String at = "steering[" + i + "]";
            if (!item.isObject()) {
                errors.add(at + ": must be an object, got " + kind(item));
                continue;
            }
            JsonNode name = item.get("intervention");
            JsonNode strength = item.get("strength");
            if (name == null || !name.isTextual() || name.textValue().isEmpty()) {
                errors.add(at + ".intervention: must be a non-empty string");
            } else if (!checkText(at + ".intervention", name.textValue(), limits.nameChars(), errors)) {
                continue;
            } else if (strength != null && !strength.isNull() && !strength.isNumber()) {
                errors.add(at + ".strength: must be a number, got " + kind(strength));
            } else if (strength != null && strength.isNumber() && !(strength.doubleValue() >= 0 && strength.doubleValue() <= 1)) {
                errors.add(at + ".strength: must be between 0 and 1, got " + strength.doubleValue());
            } else {
                asks.add(new SteeringAsk(name.textValue(), strength == null || strength.isNull() ? null : strength.doubleValue()));
            }
        }
        return asks;
    }

    /** A name or label: at most {@code maxChars}, no control characters. False (with the error named) otherwise. */
    private static boolean checkText(String at, String value, int maxChars, List<String> errors) {
        if (value.length() > maxChars) {
            errors.add(at + ": must be at most " + maxChars + " characters, got " + value.length());
            return false;
        }
        if (hasControlCharacter(value)) {
            errors.add(at + ": must not contain control characters (U+0000-U+001F, U+007F-U+009F)");
            return false;
        }
        return true;
    }

    /**
     * Control characters, C0 and C1 (U+0000 is refused by PostgreSQL; all make names ambiguous in logs and policies).
     * Not the regex class \\p{Cntrl}: without UNICODE_CHARACTER_CLASS it is ASCII only and lets U+0080-U+009F through.
     */
    private static boolean hasControlCharacter(String value) {
        for (int i = 0; i < value.length(); i++) {
            if (Character.isISOControl(value.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    /** A client's field or key name as an error message shows it: escaped and short. */
    private static String shown(String name) {
        return SafeText.of(name, 64);
    }

    /**
     * A message over the size limit is not parsed whole: a streaming pass looks only for a top-level id, so that a
     * readable id still gets a REJECTED result.
     */
    private DecodedRequest tooLarge(byte[] raw) {
        String reason = "message: " + raw.length + " bytes exceeds the limit of " + limits.messageBytes();
        String id = topLevelId(raw);
        if (id == null || !ID.matcher(id).matches()) {
            return unreadable(ErrorCode.MESSAGE_TOO_LARGE, reason);
        }
        return new DecodedRequest.Invalid(id, null, ErrorInfo.of(ErrorCode.MESSAGE_TOO_LARGE, reason));
    }

    private String topLevelId(byte[] raw) {
        try (JsonParser parser = json.getFactory().createParser(raw)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                if ("id".equals(name)) {
                    return value == JsonToken.VALUE_STRING ? parser.getText() : null;
                }
                parser.skipChildren();
            }
            return null;
        } catch (IOException e) {
            return null;
        }
    }

    private static String fieldsWithReplacement(ObjectNode root) {
        List<String> fields = new ArrayList<>();
        root.fields().forEachRemaining(entry -> {
            if (entry.getValue().toString().indexOf(REPLACEMENT) >= 0 || entry.getKey().indexOf(REPLACEMENT) >= 0) {
                fields.add(entry.getKey());
            }
        });
        return fields.isEmpty() ? "message" : String.join(", ", fields);
    }

    private static DecodedRequest unreadable(ErrorCode code, String message) {
        return new DecodedRequest.Unreadable(ErrorInfo.of(code, message));
    }

    private static String kind(JsonNode node) {
        if (node.isTextual()) return "a string";
        if (node.isIntegralNumber()) return "an integer";
        if (node.isNumber()) return "a number";
        if (node.isBoolean()) return "a boolean";
        if (node.isArray()) return "an array";
        if (node.isObject()) return "an object";
        if (node.isNull()) return "null";
        return node.getNodeType().name().toLowerCase();
    }

    private static String firstLine(String message) {
        if (message == null) return "parse error";
        int nl = message.indexOf('\n');
        String line = nl < 0 ? message : message.substring(0, nl);
        return line.length() > 120 ? line.substring(0, 120) + "..." : line;
    }
}
