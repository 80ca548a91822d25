package io.steergate.retraining;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** When a candidate the gate measured is promoted by its job: {@link RetrainingService#whyNotPromoted}. */
class PromotionRuleTest {

    static GateEvaluation.Outcome passed(Integer baselineVersion, Integer replacedVersion) {
        return new GateEvaluation.Outcome(new GateRule.Decision(GateRule.Verdict.PASSED, -0.1, -0.15, -0.05, 1.0, 0.05,
                List.of()), baselineVersion, replacedVersion, Map.of());
    }

    @Test
    void aPassedCandidateReplacesTheVersionItWasMeasuredAgainstWhileThatIsStillActive() {
        assertNull(RetrainingService.whyNotPromoted(passed(1, 1), true, 1));
        assertNull(RetrainingService.whyNotPromoted(passed(null, null), true, null));
        assertTrue(RetrainingService.whyNotPromoted(passed(1, 1), true, 2).startsWith("stays candidate: measured against version 1"
                + " but version 2 is active now"));
        assertTrue(RetrainingService.whyNotPromoted(passed(1, 1), false, 1).startsWith("awaits an operator's promotion"));
    }

    /**
     * After a model upgrade the gate measures against the unsteered model, since the active version was made for the
     * old weights; the candidate still replaces that version. Before, "measured against no active version but
     * version 1 is active now" kept it a candidate, and the old version, which no worker can run, stayed active.
     */
    @Test
    void aCandidateGatedAgainstTheUnsteeredModelReplacesAnActiveVersionOfOtherWeights() {
        assertNull(RetrainingService.whyNotPromoted(passed(null, 1), true, 1));
        assertEquals("stays candidate: measured against the unsteered model in place of version 1 but version 3 is"
                + " active now; promote it by hand after checking", RetrainingService.whyNotPromoted(passed(null, 1), true, 3));
    }
}
