package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.testing.TestModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The O(n log n) encoder against run.c's quadratic one ({@link QuadraticBpe}) on many generated texts: the same
 * tokens, every time, on tok512.bin and on small made-up vocabularies whose scores tie (0.0, -0.0, equal negatives),
 * fall at or below run.c's -1e10 cut-off, or are NaN. Each text also checks the cheap bound
 * ({@link LlamaTokenizer#minTokens}) against the true count. Seeds are fixed: a failure names its seed and text.
 */
class LlamaTokenizerEquivalenceTest {

    private static final String[] STORY_WORDS = {"Once", "upon", "a", "time", "there", "was", "little", "girl",
        "named", "Lily", "She", "loved", "to", "play", "outside", "in", "the", "park", "One", "day", "saw", "big",
        "dog", "friend", "happy", "said", "and", "they", "went", "home", "Tim", "Ben", "ball", "sun", "tree"};
    private static final String[] PUNCTUATION = {".", ",", "!", "?", "\"", "'", ":", ";", "-", "(", ")"};
    /** Code point ranges: Latin-1 and Latin Extended, Greek, Cyrillic, Hebrew, Arabic, Devanagari, CJK, Hangul,
     * combining marks, emoji, symbols, and the astral plane's mathematical letters. */
    private static final int[][] SCRIPTS = {{0xA0, 0x24F}, {0x391, 0x3C9}, {0x410, 0x44F}, {0x5D0, 0x5EA},
        {0x621, 0x64A}, {0x905, 0x939}, {0x4E00, 0x4FFF}, {0xAC00, 0xACFF}, {0x300, 0x36F}, {0x1F300, 0x1F64F},
        {0x1F680, 0x1F6FF}, {0x2600, 0x27BF}, {0x1D400, 0x1D7FF}};
    /** Emoji sequences, bidirectional controls and other characters with special handling elsewhere. */
    private static final String[] SPECIALS = {"👩‍👩‍👧‍👦", "👍🏽", "🇫🇷", "\u200F", "\u202E", "\u200D", "\uFEFF", "\u0000",
        "\u0007", "\t", "\r\n", "\u00A0", "e\u0301", "\uFFFD", "\uD83D", "\uDE80", "<0x41>", "<s>", "\n<s>\n"};

    private static QuadraticBpe runC;
    private static LlamaTokenizer fast;

    @BeforeAll
    static void read() throws IOException {
        runC = QuadraticBpe.read(TestModel.dir().resolve("tok512.bin"), 512);
        fast = runC.fast();
    }

    @Test
    void tok512GivesRunCsTokensOnThousandsOfGeneratedTexts() {
        Random random = new Random(20261124L);
        for (int i = 0; i < 4000; i++) {
            String text = text(random, 1 + random.nextInt(240));
            assertSameTokens(runC, fast, text, "tok512 text " + i);
        }
    }

    @Test
    void tok512GivesRunCsTokensOnLongTextsAndLongRepeats() {
        Random random = new Random(7L);
        List<String> texts = new ArrayList<>(List.of("a".repeat(3000), " ".repeat(2000), "\n".repeat(1500),
                "ab".repeat(1200), "the ".repeat(800), "🚀".repeat(600), "日本".repeat(700), "שלום ".repeat(400),
                "e\u0301".repeat(900), "Once upon a time, there was a little girl named Lily. ".repeat(60)));
        for (int i = 0; i < 8; i++) {
            texts.add(text(random, 1500 + random.nextInt(1500)));
        }
        for (int i = 0; i < texts.size(); i++) {
            assertSameTokens(runC, fast, texts.get(i), "long text " + i);
        }
    }

    @Test
    void madeUpVocabulariesWithTiesCutOffsAndNaNGiveRunCsTokens() {
        Random random = new Random(42L);
        for (int v = 0; v < 300; v++) {
            QuadraticBpe reference = madeUpVocabulary(random);
            LlamaTokenizer encoder = reference.fast();
            for (int t = 0; t < 40; t++) {
                StringBuilder text = new StringBuilder();
                int length = random.nextInt(60);
                for (int k = 0; k < length; k++) {
                    int pick = random.nextInt(20);
                    // mostly the vocabulary's own letters (so that merges happen), some unknown characters
                    text.append(pick < 17 ? ALPHABET[random.nextInt(ALPHABET.length)] : pick < 19 ? "z" : "🚀");
                }
                assertSameTokens(reference, encoder, text.toString(), "vocabulary " + v + " text " + t);
            }
        }
    }

    @Test
    void utf8LengthCountsWhatTheEncoderEncodes() {
        Random random = new Random(3L);
        for (int i = 0; i < 2000; i++) {
            String text = text(random, random.nextInt(100));
            assertEquals(text.getBytes(StandardCharsets.UTF_8).length, LlamaTokenizer.utf8Length(text),
                    "text " + escaped(text));
        }
    }

    private static final String[] ALPHABET = {"a", "b", "c", " ", "é", "\n"};
    private static final float[] TIED_SCORES = {0f, -0f, -0f, -1f, -1f, -2f, -3f, -1e10f, -2e10f, Float.NaN,
        Float.NEGATIVE_INFINITY, 5f};

    /**
     * A vocabulary over {@link #ALPHABET}: the 259 fixed pieces, the letters, then pieces made by joining two
     * earlier ones (so that merges can reach them), some repeated, some starting with BOS's piece (so that BOS itself
     * merges), with scores from a small set so that ties are everywhere.
     */
    private static QuadraticBpe madeUpVocabulary(Random random) {
        List<byte[]> vocab = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        for (String special : new String[] {"<unk>", "\n<s>\n", "\n</s>\n"}) {
            vocab.add(bytes(special));
            scores.add(0f);
        }
        for (int b = 0; b < 256; b++) {
            vocab.add(bytes(String.format("<0x%02X>", b)));
            scores.add(0f);
        }
        for (String letter : ALPHABET) {
            vocab.add(bytes(letter));
            scores.add(score(random));
        }
        int joined = 20 + random.nextInt(80);
        for (int i = 0; i < joined; i++) {
            byte[] piece;
            if (random.nextInt(25) == 0) {
                piece = join(bytes("\n<s>\n"), bytes(" "));
            } else if (random.nextInt(10) == 0) {
                piece = vocab.get(259 + random.nextInt(vocab.size() - 259)); // a repeated piece
            } else {
                byte[] left = vocab.get(259 + random.nextInt(vocab.size() - 259));
                byte[] right = vocab.get(259 + random.nextInt(vocab.size() - 259));
                piece = join(left, right);
            }
            vocab.add(piece);
            scores.add(score(random));
        }
        float[] s = new float[scores.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = scores.get(i);
        }
        return new QuadraticBpe(vocab.toArray(new byte[0][]), s);
    }

    private static float score(Random random) {
        return TIED_SCORES[random.nextInt(TIED_SCORES.length)];
    }

    private static void assertSameTokens(QuadraticBpe reference, LlamaTokenizer encoder, String text, String what) {
        int[] expected = reference.encode(text);
        int[] actual = encoder.encode(text);
        int at = Arrays.mismatch(expected, actual);
        assertTrue(at < 0, () -> what + ": " + escaped(text) + "\nfirst difference at token " + at + ": run.c "
                + window(expected, at) + ", fast " + window(actual, at));
        int bound = encoder.minTokens(text);
        assertTrue(bound >= 1 && bound <= actual.length,
                () -> what + ": minTokens " + bound + " but " + actual.length + " tokens for " + escaped(text));
    }

    /**
     * A random text of {@code length} chars, built from runs of one kind each; cut at {@code length}, which may split
     * a surrogate pair (lone surrogates are part of the test).
     */
    private static String text(Random random, int length) {
        StringBuilder out = new StringBuilder();
        while (out.length() < length) {
            switch (random.nextInt(8)) {
                case 0 -> { // story words
                    for (int i = random.nextInt(12); i >= 0; i--) {
                        out.append(STORY_WORDS[random.nextInt(STORY_WORDS.length)]);
                        out.append(random.nextInt(6) == 0 ? PUNCTUATION[random.nextInt(PUNCTUATION.length)] : "");
                        out.append(random.nextInt(10) == 0 ? "\n" : " ");
                    }
                }
                case 1 -> { // printable ASCII
                    for (int i = random.nextInt(20); i >= 0; i--) {
                        out.append((char) (0x20 + random.nextInt(0x5F)));
                    }
                }
                case 2 -> { // whitespace
                    for (int i = random.nextInt(10); i >= 0; i--) {
                        out.append(" \n\t\r".charAt(random.nextInt(4)));
                    }
                }
                case 3 -> { // other scripts, right-to-left ones and emoji among them
                    int[] script = SCRIPTS[random.nextInt(SCRIPTS.length)];
                    for (int i = random.nextInt(8); i >= 0; i--) {
                        out.appendCodePoint(script[0] + random.nextInt(script[1] - script[0] + 1));
                    }
                }
                case 4 -> out.append(SPECIALS[random.nextInt(SPECIALS.length)]);
                case 5 -> { // any code point, controls and unassigned ones included
                    for (int i = random.nextInt(4); i >= 0; i--) {
                        int cp = random.nextInt(Character.MAX_CODE_POINT + 1);
                        out.appendCodePoint(Character.isSurrogate((char) cp) && cp < 0x10000 ? cp & 0x7FF : cp);
                    }
                }
                case 6 -> { // a short unit repeated
                    String unit = text(random, 1 + random.nextInt(3));
                    out.append(unit.repeat(1 + random.nextInt(40)));
                }
                default -> out.append(STORY_WORDS[random.nextInt(STORY_WORDS.length)]).append(' ');
            }
        }
        return out.substring(0, length);
    }

    private static String window(int[] tokens, int at) {
        return Arrays.toString(Arrays.copyOfRange(tokens, Math.max(0, at - 5), Math.min(tokens.length, at + 6)));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] join(byte[] left, byte[] right) {
        byte[] joined = Arrays.copyOf(left, left.length + right.length);
        System.arraycopy(right, 0, joined, left.length, right.length);
        return joined;
    }

    private static String escaped(String text) {
        StringBuilder out = new StringBuilder("\"");
        text.codePoints().limit(400).forEach(cp -> {
            if (cp >= 0x20 && cp < 0x7F && cp != '\\' && cp != '"') {
                out.appendCodePoint(cp);
            } else {
                out.append(String.format("\\u{%X}", cp));
            }
        });
        return out.append(text.length() > 400 ? "\"..." : "\"").toString();
    }
}
