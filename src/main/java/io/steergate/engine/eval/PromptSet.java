package io.steergate.engine.eval;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.codec.binary.Hex;
import org.apache.commons.codec.digest.DigestUtils;

/**
 * A prompt set read from a JSONL file (policies/prompts/*.jsonl, one {"text": "..."} object a line): the source or
 * target sentences an intervention is learned from, or held-out prompts it is evaluated on.
 */
public final class PromptSet {

    private static final ObjectMapper JSON = new ObjectMapper();
    // One object per line: trailing tokens and repeated keys are errors, not silently ignored.
    private static final ObjectReader LINE_READER = JSON.reader()
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

    private final String name;
    private final List<String> texts;

    /**
     * A prompt set named {@code name} holding {@code texts} in order.
     *
     * @throws IllegalArgumentException if there are no texts or one is blank
     */
    public PromptSet(String name, List<String> texts) {
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("prompt set " + name + " has no texts");
        }
        for (int i = 0; i < texts.size(); i++) {
            if (texts.get(i) == null || texts.get(i).isBlank()) {
                throw new IllegalArgumentException("prompt set " + name + " text " + (i + 1) + " is empty");
            }
        }
        this.name = name;
        this.texts = List.copyOf(texts);
    }

    /**
     * Reads a JSONL prompt file. Each non-blank line must be a JSON object whose "text" is a non-blank string; other
     * fields (a note, a label) are allowed and ignored. Texts are kept exactly as written, spaces included, since a
     * prompt's trailing space changes its tokens.
     *
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException naming the file and 1-based line of bad JSON, a missing or non-string "text",
     *     an empty text, or a file without prompts
     */
    public static PromptSet read(Path file) throws IOException {
        return parse(file.getFileName().toString(), file.toString(),
                Files.readAllLines(file, StandardCharsets.UTF_8));
    }

    /**
     * Parses JSONL prompt text by the rules of {@link #read(Path)}: what an HTTP import of a prompt set accepts.
     *
     * @param name the set's name
     * @param origin what errors name before the line number (a file, or "body")
     * @param content the JSONL text
     * @throws IllegalArgumentException naming {@code origin} and the 1-based line, as {@link #read(Path)} does
     */
    public static PromptSet parse(String name, String origin, String content) {
        return parse(name, origin, content.lines().toList());
    }

    private static PromptSet parse(String name, String origin, List<String> lines) {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (i == 0 && line.startsWith("\uFEFF")) {
                line = line.substring(1);
            }
            if (line.isBlank()) {
                continue;
            }
            String where = origin + " line " + (i + 1) + ": ";
            JsonNode value;
            try {
                value = LINE_READER.readTree(line);
            } catch (JsonProcessingException e) {
                JsonLocation at = e.getLocation();
                throw new IllegalArgumentException(where + e.getOriginalMessage()
                        + (at == null ? "" : " (column " + at.getColumnNr() + ")"), e);
            }
            if (!value.isObject()) {
                throw new IllegalArgumentException(where + "expected a JSON object like {\"text\": \"...\"}");
            }
            if (!value.has("text")) {
                throw new IllegalArgumentException(where + "missing field \"text\"");
            }
            if (!value.get("text").isTextual()) {
                throw new IllegalArgumentException(where + "field \"text\" is not a string");
            }
            String text = value.get("text").textValue();
            if (text.isBlank()) {
                throw new IllegalArgumentException(where + "field \"text\" is empty");
            }
            texts.add(text);
        }
        if (texts.isEmpty()) {
            throw new IllegalArgumentException(origin + ": no prompts");
        }
        return new PromptSet(name, texts);
    }

    /** The set's name: the file name when read from a file. */
    public String name() {
        return name;
    }

    /** The texts, in file order. */
    public List<String> texts() {
        return texts;
    }

    /** Number of texts. */
    public int size() {
        return texts.size();
    }

    /** Hex sha256 of the canonical content of these texts: see {@link #sha256Of(List)}. */
    public String sha256() {
        return sha256Of(texts);
    }

    /**
     * Hex sha256 of the canonical content of a list of texts: each text as a JSON string literal (Jackson's
     * escaping: quote, backslash and control characters) followed by '\n', in order, UTF-8. It ignores how a file
     * spelled them (field order, other fields, spacing, escapes) and changes with any text or its order. The one
     * training-data hash: a stored prompt set's, and the source/target hashes a fitted map records as
     * {@code training_data_sha256}, so a map's provenance names the prompt sets it was trained on.
     */
    public static String sha256Of(List<String> texts) {
        MessageDigest digest = DigestUtils.getSha256Digest();
        try {
            for (String text : texts) {
                digest.update((JSON.writeValueAsString(text) + "\n").getBytes(StandardCharsets.UTF_8));
            }
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a string always serialises as JSON", e);
        }
        return Hex.encodeHexString(digest.digest());
    }
}
