package io.steergate.engine.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The registry's names, spellings, defaults and refusals: the contract of requests and of stored map files. */
class InterventionMethodsTest {

    @Test
    void wireNamesAndMetadataSpellingsAreTheStoredOnes() {
        assertEquals(List.of("linear-act", "mean-shift", "lineas"),
                InterventionMethods.all().stream().map(InterventionMethod::wireName).toList());
        assertEquals(List.of(Intervention.LINEAR_ACT, Intervention.MEAN_SHIFT, Intervention.LINEAS),
                InterventionMethods.all().stream().map(InterventionMethod::metadataName).toList());
        assertEquals(List.of("LINEAR_ACT", "MEAN_SHIFT", "LINEAS"),
                List.of(Intervention.LINEAR_ACT, Intervention.MEAN_SHIFT, Intervention.LINEAS));
        assertSame(Lineas.METHOD, InterventionMethods.byWireName("lineas"));
        assertSame(MeanShift.METHOD, InterventionMethods.find("mean-shift").orElseThrow());
        assertTrue(InterventionMethods.find("MEAN_SHIFT").isEmpty(), "the metadata spelling is not a wire name");
    }

    @Test
    void defaultsAreThoseOfStackNotes() {
        for (InterventionMethod method : InterventionMethods.all()) {
            assertEquals(new TrainingSettings(300, 1e-2, 32, 0, 0, 0L, false), method.defaults(), method.wireName());
        }
        LineasOptions lineas = LineasOptions.of("n", "", List.of(HookSite.parse("layers.0.resid")));
        TrainingSettings ls = lineas.settings();
        assertEquals(List.of(300, 1e-2, 32, 0.0, 0.0, 0L), List.of(ls.steps(), ls.learningRate(), ls.batchSize(),
                ls.l1(), ls.groupLasso(), ls.seed()));
        FitOptions causal = FitOptions.of("n", "", List.of(HookSite.parse("layers.0.resid")));
        assertEquals(List.of(0L, false, 32), List.of(causal.seed(), causal.targetsThroughEarlierMaps(), causal.batchSize()));
        assertEquals(4, Lineas.METHOD.minSourcePrompts());
        assertEquals(1, LinearAct.METHOD.minSourcePrompts());
    }

    @Test
    void anUnknownMethodIsRefusedListingTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> InterventionMethods.byWireName("pca"));
        assertEquals("unknown method 'pca'; expected linear-act, mean-shift or lineas", e.getMessage());
        assertEquals("linear-act, mean-shift or lineas", InterventionMethods.wireNames());
    }

    @Test
    void settingsOutOfBoundsAreRefusedNamingTheField() {
        TrainingSettings d = TrainingSettings.DEFAULTS;
        InterventionMethod method = MeanShift.METHOD;
        method.check(d);
        assertEquals("steps: must be in [1, 100000], got 0", refusal(method, d.withSteps(0)));
        assertEquals("steps: must be in [1, 100000], got 100001", refusal(method, d.withSteps(100_001)));
        assertEquals("learningRate: must be in (0, 1], got 5.0", refusal(method, d.withLearningRate(5)));
        assertEquals("learningRate: must be in (0, 1], got NaN", refusal(method, d.withLearningRate(Double.NaN)));
        assertEquals("l1: must be in [0, 1], got -0.1", refusal(method, d.withL1(-0.1)));
        assertEquals("groupLasso: must be in [0, 1], got 2.0", refusal(method, d.withGroupLasso(2)));
    }

    @Test
    void promptSetsAHeldOutSplitWouldLeaveTooSmallAreRefusedNamingTheSetAndWhatTheSplitLeaves() {
        TrainingSettings d = Lineas.METHOD.defaults();
        InterventionMethod lineas = Lineas.METHOD;
        lineas.checkPromptCounts("src", 4, "dst", 1, d);
        lineas.checkPromptCounts("src", 6, "dst", 2, d.withHeldOut(0.25));
        assertEquals("source: lineas needs at least 4 source prompts, 'src' has 3",
                countRefusal(lineas, 3, 1, d));
        assertEquals("heldOut: 0.25 holds out 1 of the 4 source prompts of 'src', leaving 3 to train on; lineas needs at least 4",
                countRefusal(lineas, 4, 10, d.withHeldOut(0.25)));
        assertEquals("heldOut: 0.5 holds out 1 of the 1 target prompts of 'dst', leaving 0 to train on; lineas needs at least 1",
                countRefusal(lineas, 8, 1, d.withHeldOut(0.5)));
        // the closed-form methods train on every prompt: heldOut is LinEAS's alone
        MeanShift.METHOD.checkPromptCounts("src", 1, "dst", 1, d.withHeldOut(0.5));
    }

    @Test
    void theRequestTimeCheckAgreesWithTheFitsOwnSplitAndMinimum() {
        java.util.Random random = new java.util.Random(7);
        for (double share : new double[] {0, 0.01, 0.1, 0.25, 0.3, 0.5}) {
            TrainingSettings settings = Lineas.METHOD.defaults().withHeldOut(share);
            for (int count = 1; count <= 40; count++) {
                int n = count;
                List<String> prompts = java.util.Collections.nCopies(n, "p");
                boolean accepted = refuses(() -> Lineas.METHOD.checkPromptCounts("s", n, "t", n, settings)) == null;
                HeldOutSplit split;
                try {
                    split = HeldOutSplit.of(prompts, share, random);
                } catch (IllegalArgumentException leavesNone) {
                    assertTrue(!accepted, "share " + share + ", " + n + " prompts: the split refuses, so must the check");
                    continue;
                }
                assertEquals(n - split.train().size(), Lineas.METHOD.heldOutPrompts(n, settings), "the same split");
                assertEquals(split.train().size() >= Lineas.MIN_SOURCE_PROMPTS, accepted,
                        "share " + share + ", " + n + " prompts: the fit trains on " + split.train().size());
            }
        }
    }

    private static String countRefusal(InterventionMethod method, int source, int target, TrainingSettings settings) {
        String message = refuses(() -> method.checkPromptCounts("src", source, "dst", target, settings));
        assertTrue(message != null, "refused");
        return message;
    }

    private static String refuses(Runnable check) {
        try {
            check.run();
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    private static String refusal(InterventionMethod method, TrainingSettings settings) {
        return assertThrows(IllegalArgumentException.class, () -> method.check(settings)).getMessage();
    }
}
