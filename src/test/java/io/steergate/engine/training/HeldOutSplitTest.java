package io.steergate.engine.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The seeded held-out split LinEAS measures generalization on. */
class HeldOutSplitTest {

    private static final List<String> PROMPTS = List.of("p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9");

    @Test
    void aShareOfZeroHoldsNothingOut() {
        HeldOutSplit split = HeldOutSplit.of(PROMPTS, 0, new Random(1));
        assertEquals(PROMPTS, split.train());
        assertTrue(split.heldOut().isEmpty());
    }

    @Test
    void theSplitPartitionsThePromptsInOrderAndFollowsTheSeed() {
        HeldOutSplit split = HeldOutSplit.of(PROMPTS, 0.3, new Random(4));
        assertEquals(3, split.heldOut().size());
        assertEquals(7, split.train().size());
        // a partition: every prompt exactly once, each part in the given order
        List<String> merged = new ArrayList<>(split.train());
        merged.addAll(split.heldOut());
        merged.sort(null);
        assertEquals(PROMPTS, merged);
        assertEquals(sortedCopy(split.train()), split.train());
        assertEquals(sortedCopy(split.heldOut()), split.heldOut());
        assertEquals(split, HeldOutSplit.of(PROMPTS, 0.3, new Random(4)));
        assertNotEquals(split.heldOut(), HeldOutSplit.of(PROMPTS, 0.3, new Random(5)).heldOut());
    }

    @Test
    void aSmallShareHoldsOutAtLeastOnePromptAndRoundsToNearest() {
        assertEquals(1, HeldOutSplit.of(PROMPTS, 0.01, new Random(0)).heldOut().size());
        assertEquals(2, HeldOutSplit.of(PROMPTS, 0.24, new Random(0)).heldOut().size());
        assertEquals(14, HeldOutSplit.of(java.util.Collections.nCopies(56, "x"), 0.25, new Random(0)).heldOut().size());
    }

    @Test
    void aSplitThatLeavesNothingToTrainOnIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HeldOutSplit.of(List.of("only"), 0.5, new Random(0)));
        assertTrue(e.getMessage().contains("leaves none to train on"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> HeldOutSplit.of(PROMPTS, 1.0, new Random(0)));
        assertThrows(IllegalArgumentException.class, () -> HeldOutSplit.of(PROMPTS, -0.1, new Random(0)));
    }

    private static List<String> sortedCopy(List<String> xs) {
        List<String> out = new ArrayList<>(xs);
        out.sort(null);
        return out;
    }
}
