package io.steergate.engine.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.HookSite;
import io.steergate.testing.TestModel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The probe on stories260K's own activations, trained and checked on the shipped kindness sets (held-out split). */
class ProbeScorerTest {

    private static final int TRAIN = 40;
    private static LlamaModel model;
    private static PromptSets kindness;
    private static ProbeScorer probe;

    @BeforeAll
    static void train() throws Exception {
        model = TestModel.load();
        kindness = PromptSets.load(Path.of("policies/prompts"), "kindness");
        probe = ProbeScorer.train(model, new HookSite(2, HookPoint.RESID), kindness.source().texts().subList(0, TRAIN),
                kindness.target().texts().subList(0, TRAIN), LinearProbe.Options.defaults());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void separatesHeldOutMeanFromKindTexts() {
        List<Double> mean = probe.scoreAll(kindness.source().texts().subList(TRAIN, kindness.source().size()));
        List<Double> kind = probe.scoreAll(kindness.target().texts().subList(TRAIN, kindness.target().size()));
        double meanHit = mean.stream().filter(p -> p >= 0.5).count() / (double) mean.size();
        double kindHit = kind.stream().filter(p -> p < 0.5).count() / (double) kind.size();
        // EVALUATION.md "Probe scorer" measured 0.81 balanced accuracy here; chance is 0.5
        assertTrue((meanHit + kindHit) / 2 >= 0.75, "balanced accuracy " + (meanHit + kindHit) / 2);
        assertTrue(mean.stream().mapToDouble(Double::doubleValue).average().orElseThrow()
                > kind.stream().mapToDouble(Double::doubleValue).average().orElseThrow());
    }

    @Test
    void scoresAreProbabilitiesAndOneTextScoresAsInABatch() {
        String text = kindness.eval().texts().get(0);
        double alone = probe.score(text);
        assertTrue(alone >= 0 && alone <= 1);
        assertEquals(alone, probe.scoreAll(List.of(text, "Tom hit his sister.")).get(0), 1e-4);
        double empty = probe.score("");
        assertTrue(empty >= 0 && empty <= 1);
    }

    @Test
    void aProbeOfAnotherWidthIsRefused() {
        LinearProbe narrow = new LinearProbe(new float[3], new float[] {1, 1, 1}, new float[3], 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ProbeScorer(model, new HookSite(0, HookPoint.RESID), narrow));
        assertTrue(e.getMessage().contains("probe width 3 does not fit site layers.0.resid"), e.getMessage());
    }
}
