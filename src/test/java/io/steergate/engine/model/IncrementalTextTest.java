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

    /** Token t is the byte t: a character of two bytes spans two tokens. */
    private static final Tokenizer BYTES = new Tokenizer() {
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
    };

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
}
