package io.steergate.it;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;

/**
 * Generated hostile GenerationRequest messages, reproducible from a seed: random bytes, invalid UTF-8, deep and wide
 * JSON, huge numbers, control characters, lone surrogates, RTL overrides and emoji in every field and field name,
 * every field at and just past its limit, duplicate keys, wrong types and nulls. Each message says what the gateway
 * must do with it ({@link Expect}); {@link #readableId} is the contract's own test of whether an id can be read
 * (docs/architecture.md 4.2: a valid JSON object whose "id" is a string of 1-128 [A-Za-z0-9._:-]), so that every id the gateway
 * can answer is known before sending. Every readable id is unique within a generator, so results count exactly.
 */
final class HostileMessages {

    /** The gateway's limits as application.properties sets them (steergate.limits.*) and the id contract of docs/architecture.md 4.2. */
    static final int ID_CHARS = 128;
    static final int TENANT_CHARS = 64;
    static final int PROMPT_CHARS = 8000;
    static final int MAX_TOKENS = 512;
    static final int LIST_ITEMS = 16;
    static final int NAME_CHARS = 64;
    static final int LABEL_CHARS = 256;
    /** Far below steergate.limits.message-bytes and the broker's 1 MB: every message is delivered and decoded. */
    static final int MAX_MESSAGE_BYTES = 700 * 1024;
    /** Jackson's default StreamReadConstraints: nesting deeper than this is not JSON to the gateway's parser. */
    private static final int JACKSON_MAX_DEPTH = 1000;

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    private static final Pattern TENANT = Pattern.compile("[a-z0-9-]{1,64}");
    private static final ObjectReader STRICT = new ObjectMapper().reader()
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

    /** What the gateway must do with a message. */
    enum Expect {
        /** The id cannot be read: the message goes to steer.requests.dlq (an HTTP client gets a 4xx). */
        DEAD_LETTER,
        /** The id is readable and something is wrong: exactly one REJECTED result. */
        REJECTED,
        /** At a limit, not past it: the decoder accepts it (any outcome but a decoder refusal). */
        DECODED,
        /** The id is readable; whatever the outcome (a prompt keeps control characters, -0 is a fine seed). */
        ANSWERED,
        /** Random bytes or a mutation: {@link #readableId} decides between DEAD_LETTER and ANSWERED. */
        EITHER
    }

    /** One message: its record key (unique, also when the id inside is unreadable), its bytes, what it tries. */
    record Message(String key, byte[] value, String kind, Expect expect, String readableId) {

        boolean readable() {
            return readableId != null;
        }

        /** What the gateway must do: for random bytes and mutations, what the id contract says of these bytes. */
        Expect outcome() {
            if (expect != Expect.EITHER) {
                return expect;
            }
            return readable() ? Expect.ANSWERED : Expect.DEAD_LETTER;
        }

        /** Whether the id the generator meant to be readable (or not) is what the id contract reads. */
        boolean consistent() {
            return expect == Expect.EITHER || (expect == Expect.DEAD_LETTER) != readable();
        }

        @Override
        public String toString() {
            String text = value == null ? "null" : new String(value, 0, Math.min(value.length, 200), StandardCharsets.UTF_8);
            return kind + " " + expect + " key=" + key + " (" + (value == null ? 0 : value.length) + " bytes) " + text;
        }
    }

    private static final String[] CONTROL_TARGETS = {
        "id", "fieldName", "tenant", "prompt", "style", "labelKey", "labelValue", "intervention"
    };
    private static final String[] UNICODE = {
        "\ud800", "\udfff", "\udc00\ud800", "\u202e", "\u202d\u2067", "\u200d", "\ufeff", "\uffff", "\ud83d\ude00",
        "\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67", "\u0645\u0631\u062d\u0628\u0627"
    };
    private static final String[] HUGE = {"1e999999", "-1e999999", "1E400", digits(500), "-" + digits(500)};
    private static final String[] TINY = {"-0", "-0.0", "1e-999999", "0e0"};
    private static final String[] NOT_JSON_NUMBERS = {"NaN", "Infinity", "-Infinity", "+1", "01", ".5", digits(1500)};
    private static final String[] NUMBER_STRINGS = {"\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"1e999999\"", "\"5\""};
    private static final byte[][] BAD_UTF8 = {
        {(byte) 0xC3, 0x28}, {(byte) 0xFF}, {(byte) 0xFE, (byte) 0xFF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
        {(byte) 0xC0, (byte) 0xAF}, {(byte) 0xE2, (byte) 0x82}, {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80},
        {(byte) 0x80}
    };

    private final SplittableRandom random;
    private final String prefix;
    private final Set<String> ids = new HashSet<>();
    private int serial;

    /** @param prefix starts every key and id: distinct per door and run, so two generators never share an id */
    HostileMessages(long seed, String prefix) {
        this.random = new SplittableRandom(seed);
        this.prefix = prefix;
    }

    /** The next {@code count} messages. */
    List<Message> next(int count) {
        List<Message> messages = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            messages.add(next());
        }
        return messages;
    }

    /**
     * The next message. One whose readable id another message already has is drawn again: a repeated id would be
     * answered twice by design (the stored result republished).
     */
    Message next() {
        while (true) {
            String key = prefix + "-" + String.format("%06d", serial++);
            Message message = draw(key);
            if (message.value() != null && message.value().length > MAX_MESSAGE_BYTES) {
                throw new IllegalStateException("generated a message over " + MAX_MESSAGE_BYTES + " bytes: " + message);
            }
            if (message.readable() && !ids.add(message.readableId())) {
                continue;
            }
            return message;
        }
    }

    private Message draw(String key) {
        int pick = random.nextInt(100);
        if (pick < 8) return randomBytes(key);
        if (pick < 10) return emptyOrNull(key);
        if (pick < 12) return notAnObject(key);
        if (pick < 18) return invalidUtf8(key);
        if (pick < 22) return deepNesting(key);
        if (pick < 25) return wideObject(key);
        if (pick < 32) return numbers(key);
        if (pick < 44) return controlCharacters(key);
        if (pick < 52) return unicode(key);
        if (pick < 66) return limits(key);
        if (pick < 70) return duplicateKeys(key);
        if (pick < 78) return wrongTypes(key);
        if (pick < 85) return nulls(key);
        if (pick < 88) return trailing(key);
        return mutation(key);
    }

    // ---- categories ----------------------------------------------------------------------------------------------

    private Message randomBytes(String key) {
        byte[] bytes = new byte[random.nextInt(10) == 0 ? random.nextInt(20_000) : random.nextInt(300)];
        random.nextBytes(bytes);
        return message(key, bytes, "random-bytes", Expect.EITHER);
    }

    private Message emptyOrNull(String key) {
        return random.nextBoolean()
                ? message(key, null, "null-value", Expect.DEAD_LETTER)
                : message(key, utf8(pick(new String[] {"", " ", "\n\t ", "{}", "{\"id\":\"\"}"})), "empty", Expect.DEAD_LETTER);
    }

    private Message notAnObject(String key) {
        String[] values = {"[]", "[" + base(key).render() + "]", "\"" + key + "\"", "42", "true", "null", "-0", "1e999999"};
        return message(key, utf8(pick(values)), "not-an-object", Expect.DEAD_LETTER);
    }

    /** Bytes that are not UTF-8 inside a string (id: unreadable; elsewhere REJECTED naming it) or between tokens. */
    private Message invalidUtf8(String key) {
        byte[] bad = pick(BAD_UTF8);
        String marker = "\u0001MARK\u0001";
        String where = pick(new String[] {"id", "tenant", "prompt", "labelValue", "fieldName", "between"});
        Obj request = base(key);
        switch (where) {
            case "id" -> request.set("id", "\"" + key + marker + "\"");
            case "tenant" -> request.set("tenant", "\"acme" + marker + "\"");
            case "prompt" -> request.set("prompt", "\"Once" + marker + "\"");
            case "labelValue" -> request.put("labels", "{\"channel\":\"k" + marker + "\"}");
            case "fieldName" -> request.putRaw("\"x" + marker + "\"", "1");
            default -> request.put("between", "1" + marker);
        }
        String text = request.render();
        int at = text.indexOf(marker);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(text.substring(0, at).getBytes(StandardCharsets.UTF_8));
        out.writeBytes(bad);
        out.writeBytes(text.substring(at + marker.length()).getBytes(StandardCharsets.UTF_8));
        Expect expect = where.equals("id") || where.equals("between") ? Expect.DEAD_LETTER : Expect.REJECTED;
        return message(key, out.toByteArray(), "invalid-utf8-" + where, expect);
    }

    /** Nesting the gateway's JSON parser refuses (thousands of levels: unreadable) or takes (and REJECTS the field). */
    private Message deepNesting(String key) {
        boolean tooDeep = random.nextInt(3) > 0;
        int depth = tooDeep ? JACKSON_MAX_DEPTH + 1 + random.nextInt(5000) : 1 + random.nextInt(JACKSON_MAX_DEPTH - 10);
        boolean arrays = random.nextBoolean();
        StringBuilder nested = new StringBuilder(depth * 6);
        for (int i = 0; i < depth; i++) {
            nested.append(arrays ? "[" : "{\"a\":");
        }
        nested.append("1");
        for (int i = 0; i < depth; i++) {
            nested.append(arrays ? "]" : "}");
        }
        String field = pick(new String[] {"nest", "labels", "styles", "steering", "prompt"});
        Obj request = base(key);
        if (request.has(field)) {
            request.set(field, nested.toString());
        } else {
            request.put(field, nested.toString());
        }
        return message(key, utf8(request.render()), "deep-" + (arrays ? "arrays" : "objects") + "-" + depth,
                tooDeep ? Expect.DEAD_LETTER : Expect.REJECTED);
    }

    /** Thousands of unknown fields, some with control characters in their names. */
    private Message wideObject(String key) {
        int fields = 1000 + random.nextInt(5000);
        Obj request = base(key);
        for (int i = 0; i < fields; i++) {
            String name = random.nextInt(50) == 0 ? "f\u0000" + i : random.nextInt(50) == 0 ? "\u202e" + i : "f" + i;
            request.put(name, random.nextBoolean() ? "1" : "null");
        }
        return message(key, utf8(request.render()), "wide-" + fields, Expect.REJECTED);
    }

    /** Huge, tiny and not-JSON numbers in each numeric field (and a steering strength). */
    private Message numbers(String key) {
        String field = pick(new String[] {"maxTokens", "temperature", "topP", "seed", "strength"});
        int kind = random.nextInt(4);
        String value;
        Expect expect;
        switch (kind) {
            case 0 -> { value = pick(HUGE); expect = Expect.REJECTED; }
            case 1 -> { value = pick(TINY); expect = Expect.ANSWERED; }
            case 2 -> { value = pick(NOT_JSON_NUMBERS); expect = Expect.DEAD_LETTER; }
            default -> { value = pick(NUMBER_STRINGS); expect = Expect.REJECTED; }
        }
        Obj request = base(key);
        if (field.equals("strength")) {
            request.put("steering", "[{\"intervention\":\"kindness\",\"strength\":" + value + "}]");
        } else if (request.has(field)) {
            request.set(field, value);
        } else {
            request.put(field, value);
        }
        return message(key, utf8(request.render()), "number-" + field + "=" + abbreviate(value), expect);
    }

    /** A control character (escaped, or raw where JSON allows it) in one field, field name or list entry. */
    private Message controlCharacters(String key) {
        char c = random.nextBoolean() ? (char) random.nextInt(0x20) : (char) (0x7F + random.nextInt(0x21));
        boolean raw = random.nextInt(4) == 0;
        String target = pick(CONTROL_TARGETS);
        Expect expect = switch (target) {
            case "id" -> Expect.DEAD_LETTER;
            case "prompt" -> Expect.ANSWERED;
            default -> Expect.REJECTED;
        };
        if (raw && c < 0x20) {
            expect = Expect.DEAD_LETTER; // JSON forbids a raw control character in a string: not JSON at all
        }
        String text = "a" + c + "b";
        Obj request = withText(base(key), key, target, text, raw);
        return message(key, utf8(request.render()), "control-" + target + "-U+" + String.format("%04X", (int) c)
                + (raw ? "-raw" : ""), expect);
    }

    /** Lone surrogates, RTL overrides, zero-width joiners, BOMs, noncharacters and emoji in one field. */
    private Message unicode(String key) {
        String text = "a" + pick(UNICODE) + "b";
        boolean raw = random.nextBoolean() && !hasLoneSurrogate(text);
        String target = pick(CONTROL_TARGETS);
        Expect expect = switch (target) {
            case "id" -> Expect.DEAD_LETTER;
            case "tenant", "fieldName" -> Expect.REJECTED;
            default -> Expect.ANSWERED; // not control characters: names and prompts may carry them
        };
        Obj request = withText(base(key), key, target, text, raw);
        return message(key, utf8(request.render()), "unicode-" + target + (raw ? "-raw" : ""), expect);
    }

    /** Every field at its limit (the decoder takes it) or one past it (REJECTED, or unreadable for the id). */
    private Message limits(String key) {
        boolean past = random.nextBoolean();
        int extra = past ? 1 : 0;
        String field = pick(new String[] {
            "id", "tenant", "prompt", "maxTokens", "temperature", "topP", "styles", "styleName", "labels", "labelKey",
            "labelValue", "steering", "interventionName", "strength", "lower"
        });
        if (field.equals("maxTokens") && !past && random.nextInt(4) > 0) {
            field = "temperature"; // a full 512-token generation is the costly case: keep a few per run
        }
        Obj request = base(key);
        Expect expect = past ? Expect.REJECTED : Expect.DECODED;
        switch (field) {
            case "id" -> {
                String id = padded(key, ID_CHARS + extra);
                request.set("id", quote(id));
                expect = past ? Expect.DEAD_LETTER : Expect.DECODED;
            }
            case "tenant" -> request.set("tenant", quote("t".repeat(TENANT_CHARS + extra)));
            case "prompt" -> request.set("prompt", quote(text(PROMPT_CHARS + extra)));
            case "maxTokens" -> request.set("maxTokens", String.valueOf(MAX_TOKENS + extra));
            case "temperature" -> request.put("temperature", past ? "2.000001" : "2");
            case "topP" -> request.put("topP", past ? "1.000001" : "1.0");
            case "styles" -> request.put("styles", array(LIST_ITEMS + extra, i -> quote("s" + i)));
            case "styleName" -> request.put("styles", array(1, i -> quote("s".repeat(NAME_CHARS + extra))));
            case "labels" -> request.put("labels", object(LIST_ITEMS + extra, i -> "k" + i, i -> quote("v")));
            case "labelKey" -> request.put("labels", object(1, i -> "k".repeat(NAME_CHARS + extra), i -> quote("v")));
            case "labelValue" -> request.put("labels", object(1, i -> "channel", i -> quote("v".repeat(LABEL_CHARS + extra))));
            case "steering" -> request.put("steering", array(LIST_ITEMS + extra, i -> ask("kindness", "0.5")));
            case "interventionName" -> request.put("steering", array(1, i -> ask("n".repeat(NAME_CHARS + extra), "0.5")));
            case "strength" -> request.put("steering", array(1, i -> ask("kindness", past ? "1.000001" : "1")));
            default -> {
                // the lower limits: empty or zero is past them
                String lower = pick(new String[] {"prompt", "tenant", "maxTokens", "topP", "temperature", "style"});
                expect = Expect.REJECTED;
                switch (lower) {
                    case "prompt" -> request.set("prompt", "\"\"");
                    case "tenant" -> request.set("tenant", "\"\"");
                    case "maxTokens" -> request.set("maxTokens", "0");
                    case "topP" -> request.put("topP", "0");
                    case "temperature" -> request.put("temperature", "-0.000001");
                    default -> request.put("styles", "[\"\"]");
                }
                field = "lower-" + lower;
            }
        }
        return message(key, utf8(request.render()), "limit-" + field + (past ? "-past" : "-at"), expect);
    }

    /** A repeated key anywhere (top level, in labels, in a steering ask): the gateway's parser refuses it. */
    private Message duplicateKeys(String key) {
        Obj request = base(key);
        String where = pick(new String[] {"id", "tenant", "prompt", "maxTokens", "unknown", "labels", "steering"});
        switch (where) {
            case "id" -> request.put("id", quote(key + "-b"));
            case "tenant" -> request.put("tenant", "\"other\"");
            case "prompt" -> request.put("prompt", "\"again\"");
            case "maxTokens" -> request.put("maxTokens", "2");
            case "unknown" -> request.put("x", "1").put("x", "2");
            case "labels" -> request.put("labels", "{\"channel\":\"a\",\"channel\":\"b\"}");
            default -> request.put("steering", "[{\"intervention\":\"kindness\",\"intervention\":\"x\"}]");
        }
        return message(key, utf8(request.render()), "duplicate-" + where, Expect.DEAD_LETTER);
    }

    private Message wrongTypes(String key) {
        String field = pick(new String[] {
            "id", "tenant", "prompt", "maxTokens", "temperature", "topP", "seed", "styles", "labels", "steering",
            "styleItem", "labelValue", "steeringItem", "interventionName", "strength"
        });
        Obj request = base(key);
        Expect expect = Expect.REJECTED;
        switch (field) {
            case "id" -> { request.set("id", pick(new String[] {"42", "true", "[]", "{}", "[\"" + key + "\"]"})); expect = Expect.DEAD_LETTER; }
            case "tenant" -> request.set("tenant", pick(new String[] {"1", "true", "[\"acme\"]", "{}"}));
            case "prompt" -> request.set("prompt", pick(new String[] {"1", "false", "[\"x\"]", "{\"text\":\"x\"}"}));
            case "maxTokens" -> request.set("maxTokens", pick(new String[] {"\"5\"", "5.5", "true", "[5]", "{}"}));
            case "temperature" -> request.put("temperature", pick(new String[] {"\"0.5\"", "true", "[0]", "{}"}));
            case "topP" -> request.put("topP", pick(new String[] {"\"1\"", "false", "[1]"}));
            case "seed" -> request.put("seed", pick(new String[] {"\"7\"", "1.5", "true", "[7]"}));
            case "styles" -> request.put("styles", pick(new String[] {"\"cheerful\"", "1", "{}", "true"}));
            case "labels" -> request.put("labels", pick(new String[] {"[]", "\"channel\"", "1", "[[\"a\",\"b\"]]"}));
            case "steering" -> request.put("steering", pick(new String[] {"{}", "\"kindness\"", "1"}));
            case "styleItem" -> request.put("styles", pick(new String[] {"[1]", "[[]]", "[{}]", "[true]"}));
            case "labelValue" -> request.put("labels", pick(new String[] {"{\"a\":1}", "{\"a\":[]}", "{\"a\":{}}", "{\"a\":false}"}));
            case "steeringItem" -> request.put("steering", pick(new String[] {"[1]", "[\"kindness\"]", "[[]]"}));
            case "interventionName" -> request.put("steering", pick(new String[] {"[{\"intervention\":1}]", "[{\"intervention\":[]}]", "[{}]"}));
            default -> request.put("steering", "[{\"intervention\":\"kindness\",\"strength\":" + pick(new String[] {"\"1\"", "true", "[]"}) + "}]");
        }
        return message(key, utf8(request.render()), "wrong-type-" + field, expect);
    }

    private Message nulls(String key) {
        String field = pick(new String[] {
            "id", "tenant", "prompt", "optional", "styleItem", "labelValue", "steeringItem", "interventionName", "all"
        });
        Obj request = base(key);
        Expect expect = Expect.REJECTED;
        switch (field) {
            case "id" -> { request.set("id", "null"); expect = Expect.DEAD_LETTER; }
            case "tenant" -> request.set("tenant", "null");
            case "prompt" -> request.set("prompt", "null");
            case "optional" -> {
                // every optional field null is a valid request with the defaults
                request.put("temperature", "null").put("topP", "null").put("seed", "null")
                        .put("styles", "null").put("labels", "null").put("steering", "null");
                expect = Expect.ANSWERED;
            }
            case "styleItem" -> request.put("styles", "[null]");
            case "labelValue" -> request.put("labels", "{\"channel\":null}");
            case "steeringItem" -> request.put("steering", "[null]");
            case "interventionName" -> request.put("steering", "[{\"intervention\":null,\"strength\":null}]");
            default -> {
                request.set("tenant", "null").set("prompt", "null").set("maxTokens", "null");
                request.put("styles", "[null,null]").put("labels", "{\"a\":null}").put("steering", "[null]");
            }
        }
        return message(key, utf8(request.render()), "null-" + field, expect);
    }

    private Message trailing(String key) {
        String request = base(key).render();
        String[] tails = {"x", "}", "]", ",", request, "{}", "null", "/* c */", "\u0000"};
        return message(key, utf8(request + pick(tails)), "trailing", Expect.DEAD_LETTER);
    }

    /** A valid request with a few bytes flipped, inserted or deleted: the oracle decides. */
    private Message mutation(String key) {
        byte[] bytes = utf8(base(key).render());
        int edits = 1 + random.nextInt(4);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int e = 0; e < edits; e++) {
            out.reset();
            int at = random.nextInt(bytes.length);
            switch (random.nextInt(3)) {
                case 0 -> { out.write(bytes, 0, at); out.write(random.nextInt(256)); out.write(bytes, at + 1, bytes.length - at - 1); }
                case 1 -> { out.write(bytes, 0, at); out.write(random.nextInt(256)); out.write(bytes, at, bytes.length - at); }
                default -> { out.write(bytes, 0, at); out.write(bytes, at + 1, bytes.length - at - 1); }
            }
            bytes = out.toByteArray();
            if (bytes.length == 0) {
                break;
            }
        }
        return message(key, bytes, "mutation-" + edits, Expect.EITHER);
    }

    // ---- building blocks ----------------------------------------------------------------------------------------

    /** A valid request of one token: cheap to generate when a hostile variant of it is still valid. */
    private static Obj base(String id) {
        return new Obj().put("id", quote(id)).put("tenant", "\"acme\"").put("prompt", "\"Once upon a time\"").put("maxTokens", "1");
    }

    /** {@code text} placed in {@code target} (the id keeps the key readable apart from it). */
    private Obj withText(Obj request, String key, String target, String text, boolean raw) {
        String value = raw ? rawQuote(text) : quote(text);
        switch (target) {
            case "id" -> request.set("id", raw ? rawQuote(key + text) : quote(key + text));

            case "fieldName" -> request.putRaw(value, "1");
            case "tenant" -> request.set("tenant", value);
            case "prompt" -> request.set("prompt", value);
            case "style" -> request.put("styles", "[" + value + "]");
            case "labelKey" -> request.put("labels", "{" + value + ":\"v\"}");
            case "labelValue" -> request.put("labels", "{\"channel\":" + value + "}");
            default -> request.put("steering", "[{\"intervention\":" + value + ",\"strength\":0.5}]");
        }
        return request;
    }

    private static String ask(String name, String strength) {
        return "{\"intervention\":" + quote(name) + ",\"strength\":" + strength + "}";
    }

    private static String array(int n, java.util.function.IntFunction<String> item) {
        StringBuilder out = new StringBuilder("[");
        for (int i = 0; i < n; i++) {
            out.append(i == 0 ? "" : ",").append(item.apply(i));
        }
        return out.append(']').toString();
    }

    private static String object(int n, java.util.function.IntFunction<String> name, java.util.function.IntFunction<String> value) {
        StringBuilder out = new StringBuilder("{");
        for (int i = 0; i < n; i++) {
            out.append(i == 0 ? "" : ",").append(quote(name.apply(i))).append(':').append(value.apply(i));
        }
        return out.append('}').toString();
    }

    /** A readable id of exactly {@code chars} characters that starts with the (unique) key. */
    private static String padded(String key, int chars) {
        return key + "-" + "x".repeat(Math.max(0, chars - key.length() - 1));
    }

    private String text(int chars) {
        StringBuilder out = new StringBuilder(chars);
        String words = "once upon a time there was a little girl named lily ";
        while (out.length() < chars) {
            out.append(words);
        }
        out.setLength(chars);
        return out.toString();
    }

    /** A JSON string, all ASCII: every control character, surrogate and non-ASCII character as an escape. */
    static String quote(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c >= 0x7F) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }

    /** A JSON string with its characters as they are (only quotes and backslashes escaped). */
    private static String rawQuote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static boolean hasLoneSurrogate(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && (i + 1 == text.length() || !Character.isLowSurrogate(text.charAt(i + 1)))) {
                return true;
            }
            if (Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(text.charAt(i - 1)))) {
                return true;
            }
            if (Character.isHighSurrogate(c)) {
                i++;
            }
        }
        return false;
    }

    private static String digits(int n) {
        StringBuilder out = new StringBuilder(n).append('9');
        for (int i = 1; i < n; i++) {
            out.append((char) ('0' + (i * 7) % 10));
        }
        return out.toString();
    }

    private static String abbreviate(String text) {
        return text.length() <= 12 ? text : text.substring(0, 8) + "..(" + text.length() + ")";
    }

    private <T> T pick(T[] values) {
        return values[random.nextInt(values.length)];
    }

    private static byte[] utf8(String json) {
        return json.getBytes(StandardCharsets.UTF_8);
    }

    private static Message message(String key, byte[] value, String kind, Expect expect) {
        return new Message(key, value, kind, expect, readableId(value));
    }

    /**
     * The id the gateway can answer, or null: the bytes as UTF-8 (undecodable bytes replaced, as the gateway
     * decodes them to still name the broken field), parsed strictly (no repeated keys, nothing after the value)
     * into an object whose "id" is a string of the id contract.
     */
    static String readableId(byte[] raw) {
        JsonNode root = object(raw);
        if (root == null) {
            return null;
        }
        JsonNode id = root.get("id");
        return id != null && id.isTextual() && ID.matcher(id.textValue()).matches() ? id.textValue() : null;
    }

    /**
     * Whether a request with this body sent over HTTP is stored (and so its result published): its id is readable and
     * it names a tenant of the contract. The suite's key holds every tenant, so none is taken from the credential, and
     * a request without a tenant is answered 400 and kept nowhere (ids are unique per tenant).
     */
    static boolean storedOverHttp(byte[] raw) {
        JsonNode root = object(raw);
        if (root == null || readableId(raw) == null) {
            return false;
        }
        JsonNode tenant = root.get("tenant");
        return tenant != null && tenant.isTextual() && TENANT.matcher(tenant.textValue()).matches();
    }

    /** The bytes read as the gateway reads them, when they are one JSON object; else null. */
    private static JsonNode object(byte[] raw) {
        if (raw == null) {
            return null;
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            text = new String(raw, StandardCharsets.UTF_8);
        }
        JsonNode root;
        try {
            root = STRICT.readTree(text);
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
        return root != null && root.isObject() ? root : null;
    }

    /** A JSON object as a list of (name, raw JSON value): keys may repeat, values are written as given. */
    private static final class Obj {
        private final List<String> names = new ArrayList<>();
        private final List<String> values = new ArrayList<>();

        /** Appends a field (a repeated name makes a duplicate key). */
        Obj put(String name, String json) {
            return putRaw(quote(name), json);
        }

        /** Appends a field whose name is already a JSON string. */
        Obj putRaw(String quotedName, String json) {
            names.add(quotedName);
            values.add(json);
            return this;
        }

        /** Replaces the value of a field that is there. */
        Obj set(String name, String json) {
            int at = names.indexOf(quote(name));
            if (at < 0) {
                throw new IllegalArgumentException("no field " + name);
            }
            values.set(at, json);
            return this;
        }

        boolean has(String name) {
            return names.contains(quote(name));
        }

        String render() {
            StringBuilder out = new StringBuilder("{");
            for (int i = 0; i < names.size(); i++) {
                out.append(i == 0 ? "" : ",").append(names.get(i)).append(':').append(values.get(i));
            }
            return out.append('}').toString();
        }
    }

}
