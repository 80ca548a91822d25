package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.steergate.testing.TestModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A row's text in pieces: none ends in half a character, and they concatenate to the completion's text. */
class IncrementalTextTest {

    /** Token t is the byte t: a character of two bytes spans two tokens. Counts the tokens it decodes. */
    private static final class ByteTokenizer implements Tokenizer {

        int decodedTokens;

        @Override
        public int[] encode(String text) {
            throw new UnsupportedOperationException();
        }

        @Override
        public int minTokens(String text) {
            return 1;
        }

        @Override
        public String decode(int[] tokens) {
            return decode(0, tokens);
        }

        @Override
        public String decode(int previous, int[] tokens) {
            decodedTokens += tokens.length;
            byte[] bytes = new byte[tokens.length];
            for (int i = 0; i < tokens.length; i++) {
                bytes[i] = (byte) tokens[i];
            }
            return new String(bytes, StandardCharsets.UTF_8);
        }

        @Override
        public int bos() {
            return 1;
        }

        @Override
        public int eos() {
            return 2;
        }

        @Override
        public int vocabSize() {
            return 256;
        }
    }

    private static final ByteTokenizer BYTES = new ByteTokenizer();

    @Test
    void aCharacterSpanningTokensIsGivenOutWhole() {
        IncrementalText text = new IncrementalText(BYTES, 1);
        int[] tokens = {'a', 0xC3, 0xA9, 'b', 0xE2, 0x82, 0xAC};
        assertEquals(new IncrementalText.Piece(0, 1, "a"), text.next(tokens, 1));
        assertNull(text.next(tokens, 2)); // half of é
        assertEquals(new IncrementalText.Piece(1, 2, "é"), text.next(tokens, 3));
        assertEquals(new IncrementalText.Piece(3, 1, "b"), text.next(tokens, 4));
        assertNull(text.next(tokens, 5));
        assertNull(text.next(tokens, 6));
        // the row stops in the middle of €: the final text ends in U+FFFD, and the last piece gives it out
        String all = BYTES.decode(1, java.util.Arrays.copyOf(tokens, 6));
        assertEquals(new IncrementalText.Piece(4, 2, all.substring(3)), text.finish(all, 6));
        assertNull(new IncrementalText(BYTES, 1).finish("", 0));
    }

    @Test
    void seededRowsOfTheModelGiveOutPiecesThatConcatenateToTheirText() throws IOException {
        try (LlamaModel model = TestModel.load();
                ContinuousBatch batch = new ContinuousBatch(model, Integer.MAX_VALUE, 16)) {
            Map<ContinuousBatch.Ticket, Integer> rowOf = new HashMap<>();
            List<List<IncrementalText.Piece>> pieces = new ArrayList<>();
            String[] prompts = {"", "Once upon a time", "Tom and Sue were", "The"};
            for (int i = 0; i < 50; i++) {
                List<IncrementalText.Piece> row = new ArrayList<>();
                pieces.add(row);
                GenerationInput input = new GenerationInput(prompts[i % prompts.length], 40, 1f, 1f, 1000 + i);
                rowOf.put(batch.submit(List.of(new ContinuousBatch.RowRequest(input,
                        model.tokenizer().encode(input.prompt()), null,
                        (index, tokens, text) -> row.add(new IncrementalText.Piece(index, tokens, text)))), false), i);
            }
            Map<Integer, Completion> out = new HashMap<>();
            while (!batch.idle()) {
                batch.step().forEach(done -> out.put(rowOf.get(done.ticket()), done.completion()));
            }
            for (int i = 0; i < 50; i++) {
                Completion completion = out.get(i);
                StringBuilder text = new StringBuilder();
                int covered = 0;
                List<IncrementalText.Piece> row = pieces.get(i);
                for (int p = 0; p < row.size(); p++) {
                    IncrementalText.Piece piece = row.get(p);
                    assertEquals(covered, piece.index(), "row " + i + ": pieces in order");
                    covered += piece.tokens();
                    text.append(piece.text());
                    if (p < row.size() - 1) {
                        assertFalse(piece.text().isEmpty() || piece.text().endsWith("\uFFFD"), "row " + i);
                    }
                }
                assertEquals(completion.text(), text.toString(), "row " + i);
                assertEquals(completion.completionTokens(), covered, "row " + i);
            }
        }
    }
    @Test
    void eachTokenIsDecodedAtMostTwiceWhenEveryTokenEndsACharacter() {
        ByteTokenizer counting = new ByteTokenizer();
        int[] tokens = new int[2_000];
        java.util.Arrays.fill(tokens, 'a');
        IncrementalText text = new IncrementalText(counting, 1);
        for (int count = 1; count <= tokens.length; count++) {
            assertEquals(new IncrementalText.Piece(count - 1, 1, "a"), text.next(tokens, count));
        }
        // the last piece's token as context, then the new one: twice each, linear in the row's length, not quadratic
        assertEquals(2 * tokens.length - 1, counting.decodedTokens);
    }

    /**
     * The model's own tokenizer.json (SentencePiece-style: spaces as U+2581, byte fallback for characters outside its
     * 512 tokens, the leading space stripped) through the Hugging Face decoder: rows of text with accents, CJK and
     * emoji (runs of byte tokens, back to back) give out pieces that concatenate to the row's whole text.
     */
    @Test
    void piecesConcatenateToTheWholeTextThroughTheHuggingFaceDecoderAcrossByteTokenRuns() throws IOException {
        String[] texts = {"Once upon a time, Lily saw a big dog.", "Café au lait, naïve façade.", "日本語のテキストです",
            "Tom said 🙂🙂 and left.", "é日🙂 mixed é日🙂 runs", "a"};
        try (HfTokenizer tokenizer = HfTokenizer.read(TestModel.dir().resolve("tokenizer.json"), 1, 2, 512)) {
            for (String source : texts) {
                int[] tokens = tokenizer.encode(source);
                tokens = java.util.Arrays.copyOfRange(tokens, 1, tokens.length); // without BOS: the row's previous token
                for (int previous : new int[] {tokenizer.bos(), tokens[0]}) {
                    String whole = tokenizer.decode(previous, tokens);
                    assertEquals(whole, String.join("", pieces(tokenizer, previous, tokens, whole)), source);
                }
            }
        }
    }

    /** A byte run that is not UTF-8: the decoder turns bytes already given out into U+FFFD; the row ends, no throw. */
    @Test
    void aDecoderThatTakesTextBackEndsTheRowWithoutALastPiece() throws IOException {
        try (HfTokenizer tokenizer = HfTokenizer.read(TestModel.dir().resolve("tokenizer.json"), 1, 2, 512)) {
            // <0xNN> is token NN + 3 in llama2.c's vocabularies: C3 A9 is é, and a second A9 makes the run invalid
            int[] tokens = {0xC3 + 3, 0xA9 + 3, 0xA9 + 3};
            assertEquals("é", tokenizer.decode(tokenizer.bos(), java.util.Arrays.copyOf(tokens, 2)));
            assertEquals("\uFFFD\uFFFD\uFFFD", tokenizer.decode(tokenizer.bos(), tokens));
            String whole = tokenizer.decode(tokenizer.bos(), tokens);
            assertEquals(List.of("é"), pieces(tokenizer, tokenizer.bos(), tokens, whole));
        }
    }

    private static List<String> pieces(Tokenizer tokenizer, int previous, int[] tokens, String whole) {
        IncrementalText text = new IncrementalText(tokenizer, previous);
        List<String> pieces = new ArrayList<>();
        for (int count = 1; count <= tokens.length; count++) {
            IncrementalText.Piece piece = text.next(tokens, count);
            if (piece != null) {
                pieces.add(piece.text());
            }
        }
        IncrementalText.Piece last = text.finish(whole, tokens.length);
        if (last != null) {
            pieces.add(last.text());
        }
        return pieces;
    }
}
