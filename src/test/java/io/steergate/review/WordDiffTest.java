package io.steergate.review;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.steergate.review.WordDiff.Piece;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class WordDiffTest {

    @Test
    void theWordsOnlyOneSideHasAreMarkedOnThatSide() {
        WordDiff.Sides sides = WordDiff.of(" She was kind to the dog.", " She was mean to the dog. Then left.");
        assertEquals(List.of(new Piece(" She was ", false), new Piece("kind ", true), new Piece("to the dog.", false)),
                sides.left());
        assertEquals(List.of(new Piece(" She was ", false), new Piece("mean ", true), new Piece("to the dog. ", false),
                new Piece("Then left.", true)), sides.right());
    }

    @Test
    void eachSideJoinsBackIntoItsTextExactly() {
        String left = "a  b\nc d\te ";
        String right = "x a b c\n\ny e";
        WordDiff.Sides sides = WordDiff.of(left, right);
        assertEquals(left, sides.left().stream().map(Piece::text).collect(Collectors.joining()));
        assertEquals(right, sides.right().stream().map(Piece::text).collect(Collectors.joining()));
    }

    @Test
    void equalTextsHaveNothingMarkedAndEmptyOnesNoPieces() {
        assertEquals(List.of(new Piece("same words here", false)), WordDiff.of("same words here", "same words here").left());
        assertEquals(List.of(), WordDiff.of("", "").left());
        assertEquals(List.of(new Piece("all new", true)), WordDiff.of("", "all new").right());
    }

    @Test
    void textsTooLongToCompareAreShownUnmarked() {
        String longText = "w ".repeat(2_001);
        WordDiff.Sides sides = WordDiff.of(longText, longText + "x ");
        assertEquals(List.of(new Piece(longText, false)), sides.left());
    }
}
