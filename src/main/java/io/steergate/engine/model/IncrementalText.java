package io.steergate.engine.model;

import java.util.Arrays;

/**
 * A row's generated text in pieces, as its tokens arrive: each piece is what the text decoded so far adds to the
 * pieces before it, held back while the text ends in an unfinished UTF-8 character (decoded as U+FFFD) or does not
 * extend what was already given out. The pieces concatenate to the final text ({@link #finish}).
 */
public final class IncrementalText {

    /** Text covering generated tokens {@code index} to {@code index + tokens - 1}. */
    public record Piece(int index, int tokens, String text) {
    }

    private final Tokenizer tokenizer;
    private final int previous;
    private String given = ""; // the pieces so far, concatenated
    private int covered; // tokens the pieces so far cover

    /** A row whose prompt's last token is {@code previous}. */
    public IncrementalText(Tokenizer tokenizer, int previous) {
        this.tokenizer = tokenizer;
        this.previous = previous;
    }

    /** The piece that the first {@code count} tokens add, or null when nothing can be given out yet. */
    public Piece next(int[] tokens, int count) {
        String text = tokenizer.decode(previous, Arrays.copyOf(tokens, count));
        if (text.length() <= given.length() || text.charAt(text.length() - 1) == '\uFFFD'
                || !text.startsWith(given)) {
            return null;
        }
        return give(text, count);
    }

    /**
     * The last piece of a row that generated {@code count} tokens whose whole text is {@code text}: the rest of it,
     * covering the tokens not yet covered (possibly with empty text); null when every token is covered and nothing is
     * left.
     */
    public Piece finish(String text, int count) {
        if (!text.startsWith(given)) {
            throw new IllegalStateException("the final text does not extend the pieces already given out");
        }
        if (count == covered && text.length() == given.length()) {
            return null;
        }
        return give(text, count);
    }

    private Piece give(String text, int count) {
        Piece piece = new Piece(covered, count - covered, text.substring(given.length()));
        given = text;
        covered = count;
        return piece;
    }
}
