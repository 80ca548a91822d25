package io.steergate.review;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The words two texts do not share, for showing the steered output beside its unsteered counterfactual: each text is
 * cut into words (a word keeps the whitespace that follows it, so the pieces join back into the text exactly), the
 * longest common subsequence of words is kept, and every other word is marked as changed on its side.
 */
public final class WordDiff {

    /** Above this many word pairs the texts are shown unmarked rather than compared (the table is pairs x 4 bytes). */
    static final long MAX_PAIRS = 4_000_000;
    private static final Pattern WORD_START = Pattern.compile("(?<=\\s)(?=\\S)");

    /** A piece of one side's text; {@code changed}: not in the other text at this place. */
    public record Piece(String text, boolean changed) {}

    /** Both sides, each its text cut into pieces in order. */
    public record Sides(List<Piece> left, List<Piece> right) {}

    private WordDiff() {}

    public static Sides of(String left, String right) {
        List<String> a = words(left);
        List<String> b = words(right);
        if ((long) a.size() * b.size() > MAX_PAIRS) {
            return new Sides(List.of(new Piece(left, false)), List.of(new Piece(right, false)));
        }
        // common[i][j]: length of the longest common subsequence of a[i..] and b[j..], compared without whitespace
        int[][] common = new int[a.size() + 1][b.size() + 1];
        for (int i = a.size() - 1; i >= 0; i--) {
            for (int j = b.size() - 1; j >= 0; j--) {
                common[i][j] = same(a.get(i), b.get(j)) ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
            }
        }
        List<Piece> leftPieces = new ArrayList<>();
        List<Piece> rightPieces = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < a.size() || j < b.size()) {
            if (i < a.size() && j < b.size() && same(a.get(i), b.get(j))) {
                add(leftPieces, a.get(i++), false);
                add(rightPieces, b.get(j++), false);
            } else if (j >= b.size() || (i < a.size() && common[i + 1][j] >= common[i][j + 1])) {
                add(leftPieces, a.get(i++), true);
            } else {
                add(rightPieces, b.get(j++), true);
            }
        }
        return new Sides(leftPieces, rightPieces);
    }

    static List<String> words(String text) {
        return text == null || text.isEmpty() ? List.of() : List.of(WORD_START.split(text));
    }

    private static boolean same(String a, String b) {
        return a.strip().equals(b.strip());
    }

    /** Appends, joining runs of the same kind into one piece. */
    private static void add(List<Piece> pieces, String word, boolean changed) {
        int last = pieces.size() - 1;
        if (last >= 0 && pieces.get(last).changed() == changed) {
            pieces.set(last, new Piece(pieces.get(last).text() + word, changed));
        } else {
            pieces.add(new Piece(word, changed));
        }
    }
}
