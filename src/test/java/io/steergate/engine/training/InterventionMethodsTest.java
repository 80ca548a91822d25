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
        assertEquals(List.of(300, 1e-2, 32, 0.0, 0.0, 0L), List.of(lineas.steps(), lineas.learningRate(),
                lineas.batchSize(), lineas.l1(), lineas.groupLasso(), lineas.seed()));
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

    private static String refusal(InterventionMethod method, TrainingSettings settings) {
        return assertThrows(IllegalArgumentException.class, () -> method.check(settings)).getMessage();
    }
}
