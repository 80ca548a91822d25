package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.testing.TestModel;
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
        tokenizer = LlamaTokenizer.read(TestModel.dir().resolve("tok512.bin"), 512);
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
    void theNulByteTokenDecodesToTheReplacementCharacter() {
        // <0x00> is byte token 3: U+0000 cannot be stored in PostgreSQL text (the audit record), so it never comes out
        assertEquals("a\uFFFDb", tokenizer.decode(tokenizer.encode("a\u0000b")));
        assertEquals("\uFFFD", tokenizer.decode(1, new int[] {3}));
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
    void minTokensIsALowerBoundFromTheLengthAlone() {
        // tok512's longest piece has 7 bytes and BOS's piece 5: at least ceil((5 + 1 + bytes) / 7) tokens
        assertEquals(1, tokenizer.minTokens(""));
        assertEquals(4, tokenizer.minTokens("Once upon a time")); // 5 tokens in fact
        assertEquals(1144, tokenizer.minTokens("a".repeat(8000)));
        assertEquals(2, tokenizer.minTokens("🚀")); // ceil((5 + 1 + 4) / 7); 6 tokens in fact
        String story = "Once upon a time, there was a little girl named Lily. ".repeat(40);
        int count = tokenizer.encode(story).length;
        int bound = tokenizer.minTokens(story);
        assertTrue(bound <= count && bound * 3 > count, bound + " against " + count + " tokens");
    }

    @Test
    void aPromptTheBoundRefusesIsTooLongWhenTokenized() {
        int context = 512;
        // the shortest run of 'a' that the bound puts at the context: its tokens do not fit either
        String prompt = "a".repeat(7 * (context - 1) - 5);
        assertEquals(context, tokenizer.minTokens(prompt));
        assertTrue(tokenizer.encode(prompt).length >= context);
        assertEquals(context - 1, tokenizer.minTokens(prompt.substring(1)));
    }

    @Test
    void anEmptyByteFallbackPieceIsRefused() {
        byte[][] vocab = new byte[259][];
        float[] scores = new float[259];
        for (int i = 0; i < vocab.length; i++) {
            vocab[i] = new byte[] {(byte) 'x'};
        }
        vocab[3 + 0x41] = new byte[0];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new LlamaTokenizer(vocab,
                scores));
        assertTrue(e.getMessage().contains("68"), e.getMessage());
    }

    @Test
    void theLeadingSpaceIsStrippedOnlyAfterBos() {
        assertEquals("Once", tokenizer.decode(1, new int[] {403}));
        assertEquals(" upon", tokenizer.decode(403, new int[] {407}));
    }

    @Test
    void aLongTextIsCutBeforeEncodingToTheShortestPrefixTheBoundProvesFillsTheContext() {
        String text = "Once upon a time, there was a little girl named Lily. She loved to play outside. ".repeat(800);
        int context = 512;

        String prefix = tokenizer.prefixOfAtLeast(text, context);

        assertTrue(text.startsWith(prefix));
        assertTrue(prefix.length() <= context * 7, prefix.length() + " chars kept of " + text.length());
        assertTrue(tokenizer.minTokens(prefix) >= context);
        assertTrue(tokenizer.minTokens(prefix.substring(0, prefix.length() - 1)) < context, "not the shortest prefix");
        int[] cut = tokenizer.encode(prefix);
        assertTrue(cut.length >= context, cut.length + " tokens");
        assertArrayEquals(java.util.Arrays.copyOf(tokenizer.encode(text), context), java.util.Arrays.copyOf(cut, context));
    }

    @Test
    void aTextNotProvenLongEnoughIsKeptWholeAndASurrogatePairIsNeverSplit() {
        assertEquals("Once upon a time", tokenizer.prefixOfAtLeast("Once upon a time", 512));
        assertEquals("", tokenizer.prefixOfAtLeast("Once upon a time", 1));

        String rockets = "🚀".repeat(2_000);
        String prefix = tokenizer.prefixOfAtLeast(rockets, 512);

        assertTrue(prefix.length() < rockets.length() && prefix.length() % 2 == 0, prefix.length() + " chars");
        assertTrue(tokenizer.minTokens(prefix) >= 512);
        assertTrue(tokenizer.encode(prefix).length >= 512);
    }
}
