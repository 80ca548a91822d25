package io.steergate.engine.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PromptSet reads JSONL, names file and line in its errors, and hashes canonical content. */
class PromptSetTest {

    @TempDir
    Path dir;

    @Test
    void readsTextsInOrderSkippingBlankLinesAndOtherFields() throws IOException {
        PromptSet set = read("a.jsonl", """
                {"text": "Once upon a time, there was a cat."}

                {"note": "kept", "text": "Tom said \\"hi\\".\\nThen he ran.", "n": [1, 2.5e3, true, null]}
                { "text" : "Caf\\u00e9 " }
                """);
        assertEquals(List.of("Once upon a time, there was a cat.", "Tom said \"hi\".\nThen he ran.", "Café "),
                set.texts());
        assertEquals(3, set.size());
        assertEquals("a.jsonl", set.name());
    }

    @Test
    void namesFileAndLineOfBadJson() throws IOException {
        assertBad("{\"text\": \"ok\"}\n{\"text\": \"oops}\n", "line 2", "end-of-input");
        assertBad("{\"text\": \"ok\"} x\n", "line 1", "Unrecognized token 'x'");
        assertBad("{\"text\": \"ok\",}\n", "line 1", "field name");
        assertBad("{\"text\": \"a\", \"text\": \"b\"}\n", "line 1", "Duplicate field");
        assertBad("{\"text\": 'a'}\n", "line 1", "column 10");
        assertBad("[\"text\"]\n", "line 1", "JSON object");
    }

    @Test
    void namesMissingNonStringAndEmptyText() throws IOException {
        assertBad("{\"text\": \"ok\"}\n\n{\"prompt\": \"x\"}\n", "line 3", "missing field \"text\"");
        assertBad("{\"text\": 3}\n", "line 1", "not a string");
        assertBad("{\"text\": \"  \"}\n", "line 1", "\"text\" is empty");
        assertBad("\n\n", "bad.jsonl", "no prompts");
    }

    @Test
    void sha256IsOfTheCanonicalContent() throws IOException {
        PromptSet a = read("a.jsonl", "{\"text\": \"Hi \\\"you\\\"\"}\n{\"text\": \"Bye\"}\n");
        PromptSet b = read("b.jsonl", "{ \"n\": 1,\"text\":\"Hi \\u0022you\\u0022\" }\r\n\n{\"text\":\"Bye\"}");
        String expected = hex("\"Hi \\\"you\\\"\"\n\"Bye\"\n");
        assertEquals(expected, a.sha256());
        assertEquals(expected, b.sha256());
        assertNotEquals(expected, new PromptSet("c", List.of("Bye", "Hi \"you\"")).sha256());
        assertNotEquals(expected, new PromptSet("d", List.of("Hi \"you\"", "Bye ")).sha256());
    }

    @Test
    void loadsTheThreeSetsOfAnIntervention() throws IOException {
        read("kind.source.jsonl", "{\"text\": \"Tom was mean.\"}\n");
        read("kind.target.jsonl", "{\"text\": \"Tom was kind.\"}\n");
        read("kind.eval.jsonl", "{\"text\": \"Once upon a time\"}\n{\"text\": \"One day, Sue\"}\n");
        PromptSets sets = PromptSets.load(dir, "kind");
        assertEquals(List.of("Tom was mean."), sets.source().texts());
        assertEquals(List.of("Tom was kind."), sets.target().texts());
        assertEquals(2, sets.eval().size());

        NoSuchFileException missing = assertThrows(NoSuchFileException.class, () -> PromptSets.load(dir, "other"));
        assertTrue(missing.getMessage().contains("other.source.jsonl"), missing.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PromptSets.load(dir, "../kind"));
    }

    @Test
    void parsesTextByTheFileRulesNamingItsOriginAndLine() throws IOException {
        String content = "{\"text\": \"a\"}\r\n\n{\"text\": \"b\"}\n";
        PromptSet parsed = PromptSet.parse("set", "body", content);
        assertEquals(List.of("a", "b"), parsed.texts());
        assertEquals("set", parsed.name());
        assertEquals(read("same.jsonl", content).sha256(), parsed.sha256());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PromptSet.parse("set", "body", "{\"text\": \"a\"}\n\n{\"text\": 3}\n"));
        assertTrue(e.getMessage().startsWith("body line 3: field \"text\" is not a string"), e.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PromptSet.parse("set", "body", "\n"))
                .getMessage().equals("body: no prompts"));
    }

    private PromptSet read(String name, String content) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, content, StandardCharsets.UTF_8);
        return PromptSet.read(file);
    }

    private void assertBad(String content, String... fragments) throws IOException {
        Path file = dir.resolve("bad.jsonl");
        Files.writeString(file, content, StandardCharsets.UTF_8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PromptSet.read(file));
        assertTrue(e.getMessage().contains("bad.jsonl"), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), e.getMessage());
        }
    }

    private static String hex(String canonical) {
        try {
            return HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
