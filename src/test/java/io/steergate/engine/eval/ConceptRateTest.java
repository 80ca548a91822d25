package io.steergate.engine.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** ConceptRate: share of texts that hit, with Wilson 95% intervals checked against hand-computed values. */
class ConceptRateTest {

    @Test
    void countsTextsWithAnyHit() {
        LexiconScorer dogs = new LexiconScorer(List.of("dog", "puppy"));
        ConceptRate rate = ConceptRate.of(List.of(
                "The dog ran.", "Two puppies and a dog played.", "The cat sat.", "A dogma.", "Lily smiled."), dogs);
        assertEquals(2, rate.hits());
        assertEquals(5, rate.total());
        assertEquals(0.4, rate.rate(), 1e-12);
    }

    @Test
    void wilsonIntervalMatchesHandValues() {
        // 5/10: z^2/n = 0.384146, centre 0.5, half = 1.959964 / 1.384146 * sqrt(0.025 + 0.009604) = 0.263407
        assertInterval(ConceptRate.of(5, 10), 0.5, 0.236593, 0.763407);
        // 0/10: upper end z^2 / (n + z^2) = 3.841459 / 13.841459
        assertInterval(ConceptRate.of(0, 10), 0.0, 0.0, 0.277533);
        assertInterval(ConceptRate.of(10, 10), 1.0, 0.722467, 1.0);
        // 5/200, the base rate the feasibility run saw: centre 0.033952, half 0.023227
        assertInterval(ConceptRate.of(5, 200), 0.025, 0.010725, 0.057178);
        assertInterval(ConceptRate.of(16, 200), 0.08, 0.049841, 0.125989);
    }

    @Test
    void disjointIntervalsDiffer() {
        // 2.5% against 8% at 200 generations each still overlaps: the noise the notes warn about
        assertFalse(ConceptRate.of(5, 200).differsFrom(ConceptRate.of(16, 200)));
        assertTrue(ConceptRate.of(5, 200).differsFrom(ConceptRate.of(30, 200)));
        assertTrue(ConceptRate.of(30, 200).differsFrom(ConceptRate.of(5, 200)));
    }

    @Test
    void rejectsNoTextsAndImpossibleCounts() {
        LexiconScorer dogs = new LexiconScorer(List.of("dog"));
        assertThrows(IllegalArgumentException.class, () -> ConceptRate.of(List.of(), dogs));
        assertThrows(IllegalArgumentException.class, () -> ConceptRate.of(3, 2));
        assertThrows(IllegalArgumentException.class, () -> ConceptRate.of(-1, 2));
    }

    private static void assertInterval(ConceptRate r, double rate, double low, double high) {
        assertEquals(rate, r.rate(), 1e-12);
        assertEquals(low, r.low(), 1e-6);
        assertEquals(high, r.high(), 1e-6);
    }
}
