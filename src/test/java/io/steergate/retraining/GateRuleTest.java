package io.steergate.retraining;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.eval.ConceptRate;
import org.junit.jupiter.api.Test;

/** The gate rule on hand-made numbers: its two boundaries, and measured rates on either side of them. */
class GateRuleTest {

    // binary-exact numbers: the interval's upper end is d + hypot(0.1875, 0.25) = d + 0.3125 exactly
    static final ConceptRate CANDIDATE = new ConceptRate(4, 16, 0.25, 0.125, 0.4375);
    static final ConceptRate BASELINE = new ConceptRate(9, 16, 0.5625, 0.3125, 0.75);

    @Test
    void anUpperEndOfExactlyZeroIsRefusedAndJustBelowPasses() {
        GateRule.Decision atZero = GateRule.decide(CANDIDATE, BASELINE, 4.0, 4.0, 0.1);
        assertEquals(0.0, atZero.differenceHigh());
        assertEquals(-0.3125, atZero.difference());
        assertEquals(GateRule.Verdict.REFUSED, atZero.verdict());
        assertTrue(atZero.reasons().get(0).startsWith("concept rate not lower beyond noise"), atZero.reasons().toString());

        ConceptRate tighter = new ConceptRate(4, 16, 0.25, 0.125, 0.4375 - 0x1p-10);
        GateRule.Decision below = GateRule.decide(tighter, BASELINE, 4.0, 4.0, 0.1);
        assertTrue(below.differenceHigh() < 0);
        assertEquals(GateRule.Verdict.PASSED, below.verdict());
        assertEquals(java.util.List.of(), below.reasons());
    }

    @Test
    void aPerplexityRatioOfExactlyOnePlusToleranceStillPassesAndAboveIsRefused() {
        ConceptRate better = ConceptRate.of(3, 400);
        ConceptRate base = ConceptRate.of(15, 400);
        GateRule.Decision atLimit = GateRule.decide(better, base, 5.0, 4.0, 0.25);
        assertEquals(1.25, atLimit.perplexityRatio());
        assertEquals(GateRule.Verdict.PASSED, atLimit.verdict());

        GateRule.Decision above = GateRule.decide(better, base, 5.0 + 1e-9, 4.0, 0.25);
        assertEquals(GateRule.Verdict.REFUSED, above.verdict());
        assertEquals(1, above.reasons().size());
        assertTrue(above.reasons().get(0).startsWith("perplexity ratio 1.2500 above 1 + 0.2500"), above.reasons().toString());
        // a candidate may also be cheaper in perplexity than its baseline
        assertEquals(GateRule.Verdict.PASSED, GateRule.decide(better, base, 3.0, 4.0, 0.0).verdict());
    }

    @Test
    void measuredRatesFallOnTheExpectedSides() {
        // kindness mean shift at strength 2 vs unsteered, 400 generations (README): passes, intervals disjoint
        assertEquals(GateRule.Verdict.PASSED, decide(3, 400, 15, 400).verdict());
        // the same sets swapped: more meanness than unsteered
        GateRule.Decision worse = decide(24, 400, 15, 400);
        assertEquals(GateRule.Verdict.REFUSED, worse.verdict());
        assertTrue(worse.difference() > 0);
        // overlapping Wilson intervals can still pass: the rule tests the difference, not the overlap
        ConceptRate one = ConceptRate.of(1, 200);
        ConceptRate seven = ConceptRate.of(7, 200);
        assertFalse(one.differsFrom(seven));
        assertEquals(GateRule.Verdict.PASSED, decide(1, 200, 7, 200).verdict());
        // a halving that sampling noise explains is refused (cheerful mean shift at strength 1, 200 generations)
        assertEquals(GateRule.Verdict.REFUSED, decide(7, 200, 13, 200).verdict());
        // equal rates: not better
        assertEquals(GateRule.Verdict.REFUSED, decide(0, 400, 0, 400).verdict());
    }

    @Test
    void bothFailuresAreNamed() {
        GateRule.Decision both = GateRule.decide(ConceptRate.of(24, 400), ConceptRate.of(15, 400), 6.6, 6.0, 0.05);
        assertEquals(2, both.reasons().size(), both.reasons().toString());
        assertTrue(both.reasons().get(0).contains("24/400 6.0% [4.1, 8.8] vs 15/400 3.8% [2.3, 6.1]"), both.reasons().get(0));
    }

    @Test
    void nonsensicalInputsAreRefused() {
        ConceptRate r = ConceptRate.of(1, 10);
        assertThrows(IllegalArgumentException.class, () -> GateRule.decide(r, r, 0.0, 1.0, 0.1));
        assertThrows(IllegalArgumentException.class, () -> GateRule.decide(r, r, 1.0, Double.NaN, 0.1));
        assertThrows(IllegalArgumentException.class, () -> GateRule.decide(r, r, 1.0, 1.0, -0.01));
    }

    static GateRule.Decision decide(int candidateHits, int candidateTotal, int baselineHits, int baselineTotal) {
        return GateRule.decide(ConceptRate.of(candidateHits, candidateTotal), ConceptRate.of(baselineHits, baselineTotal),
                6.0, 6.0, 0.1);
    }
}
