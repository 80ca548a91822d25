package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** run.c's encode and decode on tok512.bin. */
class LlamaTokenizerTest {

    private static LlamaTokenizer tokenizer;

    @BeforeAll
    static void read() throws IOException {
        tokenizer = LlamaTokenizer.read(LlamaModelTest.MODEL_DIR.resolve("tok512.bin"), 512);
    }

    @Test
    void encodesLikeRunC() {
        assertArrayEquals(new int[] {1, 403, 407, 261, 378}, tokenizer.encode("Once upon a time"));
    }

    @Test
    void theEmptyTextIsJustBos() {
        assertArrayEquals(new int[] {1}, tokenizer.encode(""));
    }

    @ParameterizedTest
    @ValueSource(strings = {"Once upon a time", "Hello, world! 123", "two  spaces\nand a newline",
            "café crème", "a rocket 🚀 and 日本"})
    void decodeRoundTrips(String text) {
        assertEquals(text, tokenizer.decode(tokenizer.encode(text)));
    }

    @Test
    void unknownCodePointsFallBackToBytes() {
        int[] tokens = tokenizer.encode("🚀");
        // BOS, the dummy prefix space, then the 4 UTF-8 bytes of the emoji as byte tokens (byte + 3)
        assertArrayEquals(new int[] {1, tokenizer.encode(" ")[1], 0xF0 + 3, 0x9F + 3, 0x9A + 3, 0x80 + 3}, tokens);
    }

    @Test
    void bytesOfOneCodePointAssembleAcrossTokens() {
        int[] tokens = tokenizer.encode("🚀");
        int[] bytes = java.util.Arrays.copyOfRange(tokens, 2, tokens.length);
        assertEquals("🚀", tokenizer.decode(tokens[1], bytes));
        // token by token, each byte alone is not UTF-8: the caller must decode the whole completion at once
        assertEquals("\uFFFD", tokenizer.decode(tokens[1], new int[] {bytes[0]}));
    }

    @Test
    void theLeadingSpaceIsStrippedOnlyAfterBos() {
        assertEquals("Once", tokenizer.decode(1, new int[] {403}));
        assertEquals(" upon", tokenizer.decode(403, new int[] {407}));
    }
}
