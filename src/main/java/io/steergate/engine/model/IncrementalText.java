package io.steergate.engine.model;

import java.util.Arrays;

/**
 * A row's generated text in pieces, as its tokens arrive: each piece is what the tokens since the last piece add,
 * held back while it ends in an unfinished UTF-8 character (decoded as U+FFFD). The pieces concatenate to the final
 * text ({@link #finish}). Each step decodes only the last piece's tokens and the new ones (the last piece is the
 * decoder's context: where it comes out as given, what follows it is the addition), so a row of n tokens costs O(n)
 * decoding; where the decoder reads that window differently alone (byte tokens around its start), the whole row is
 * decoded instead.
 */
public final class IncrementalText {

    /** Text covering generated tokens {@code index} to {@code index + tokens - 1}. */
    public record Piece(int index, int tokens, String text) {
    }

    private final Tokenizer tokenizer;
    private final int previous;
    private final StringBuilder given = new StringBuilder(); // the pieces so far, concatenated
    private int covered; // tokens the pieces so far cover
    private int lastPieceStart; // the first token of the last piece
    private int lastPieceChars; // the length of its text

    /** A row whose prompt's last token is {@code previous}. */
    public IncrementalText(Tokenizer tokenizer, int previous) {
        this.tokenizer = tokenizer;
        this.previous = previous;
    }

    /** The piece that the first {@code count} tokens add, or null when nothing can be given out yet. */
    public Piece next(int[] tokens, int count) {
        String added = added(tokens, count);
        if (added == null || added.isEmpty() || added.charAt(added.length() - 1) == '\uFFFD') {
            return null;
        }
        return give(added, count);
    }

    /** What tokens {@code [covered, count)} add to the pieces given out; null when the decoder takes some of them back. */
    private String added(int[] tokens, int count) {
        int context = lastPieceStart == 0 ? previous : tokens[lastPieceStart - 1];
        String window = tokenizer.decode(context, Arrays.copyOfRange(tokens, lastPieceStart, count));
        String lastPiece = given.substring(given.length() - lastPieceChars);
        if (window.startsWith(lastPiece)) {
            return window.substring(lastPiece.length());
        }
        String whole = tokenizer.decode(previous, Arrays.copyOf(tokens, count));
        return whole.startsWith(given.toString()) ? whole.substring(given.length()) : null;
    }

    /**
     * The last piece of a row that generated {@code count} tokens whose whole text is {@code text}: the rest of it,
     * covering the tokens not yet covered (possibly with empty text); null when every token is covered and nothing is
     * left, or when the text does not extend the pieces given out (a decoder that reads earlier bytes differently once
     * later ones come, as a byte-fallback decoder does with an invalid byte run: the receiver finds the difference in
     * the row's result, which holds the whole text).
     */
    public Piece finish(String text, int count) {
        if (!text.startsWith(given.toString()) || count == covered && text.length() == given.length()) {
            return null;
        }
        return give(text.substring(given.length()), count);
    }

    private Piece give(String added, int count) {
        Piece piece = new Piece(covered, count - covered, added);
        given.append(added);
        lastPieceStart = covered;
        lastPieceChars = added.length();
        covered = count;
        return piece;
    }
}
