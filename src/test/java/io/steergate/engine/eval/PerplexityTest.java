package io.steergate.engine.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.model.PromptBatch;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Perplexity on stories260K: a scalar hand check from per-position logits, padding, identity and real steering. */
class PerplexityTest {

    private static final String SHORT = "Once upon a time";
    private static final String LONG = "Tom and his mom went to the park. They played with a red ball all day.";

    private static LlamaModel model;

    @BeforeAll
    static void load() throws IOException {
        model = TestModel.load();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** exp of the mean NLL computed in double from the logits of every position of one unpadded text. */
    private static double[] scalarNll(String text) {
        int[] ids = model.tokenizer().encode(text);
        int vocab = model.config().vocabSize();
        float[] logits;
        try (NDManager step = model.newSubManager()) {
            model.lendWeights(step);
            logits = model.forwardPromptsAllPositions(PromptBatch.of(step, new int[][] {ids}), null).toFloatArray();
        }
        assertEquals(ids.length * vocab, logits.length);
        double nll = 0;
        for (int c = 0; c + 1 < ids.length; c++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) {
                max = Math.max(max, logits[c * vocab + v]);
            }
            double sum = 0;
            for (int v = 0; v < vocab; v++) {
                sum += Math.exp(logits[c * vocab + v] - max);
            }
            nll -= logits[c * vocab + ids[c + 1]] - max - Math.log(sum);
        }
        return new double[] {nll, ids.length - 1};
    }

    @Test
    void oneTextEqualsTheScalarComputation() {
        double[] expected = scalarNll(SHORT); // "Once upon a time" = [1, 403, 407, 261, 378]: 4 predicted tokens
        Perplexity p = Perplexity.of(model, List.of(SHORT), null);
        assertEquals(4, p.tokens());
        assertEquals(expected[0], p.nll(), 1e-4);
        assertEquals(Math.exp(expected[0] / expected[1]), p.perplexity(), 1e-4 * p.perplexity());
    }

    @Test
    void paddingIsExcludedAndTokensAreWeighted() {
        double[] a = scalarNll(SHORT);
        double[] b = scalarNll(LONG);
        Perplexity batched = Perplexity.of(model, List.of(SHORT, LONG), null, 2); // SHORT is left-padded
        assertEquals(a[1] + b[1], batched.tokens());
        assertEquals(a[0] + b[0], batched.nll(), 1e-3);
        Perplexity oneByOne = Perplexity.of(model, List.of(SHORT, LONG), null, 1);
        assertEquals(oneByOne.nll(), batched.nll(), 1e-3);
        assertEquals(oneByOne.tokens(), batched.tokens());
    }

    @Test
    void identityPlanGivesExactlyTheUnsteeredValue() {
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        for (int l = 0; l < model.config().nLayers(); l++) {
            for (HookPoint point : HookPoint.values()) {
                maps.put(new HookSite(l, point), AffineMap.identity(model.config().dim()));
            }
        }
        Intervention identity = new Intervention("identity", "TEST", model.fingerprint(), "", Map.of(), maps);
        List<String> texts = List.of(SHORT, LONG, "The cat sat on the mat.");
        Perplexity clean = Perplexity.of(model, texts, null);
        assertEquals(clean, Perplexity.of(model, texts, SteeringPlan.of(identity, 1.0)));
        assertEquals(clean, Perplexity.of(model, texts, SteeringPlan.of(identity, 0.5)));
        assertEquals(clean, Perplexity.of(model, texts, SteeringPlan.NONE));
    }

    @Test
    void aRealShiftChangesPerplexity() {
        float[] beta = new float[model.config().dim()];
        Arrays.fill(beta, 0.5f);
        float[] omega = new float[beta.length];
        Arrays.fill(omega, 1f);
        Intervention shift = new Intervention("shift", Intervention.MEAN_SHIFT, model.fingerprint(), "", Map.of(),
                new TreeMap<>(Map.of(new HookSite(2, HookPoint.RESID), AffineMap.of(omega, beta))));
        List<String> texts = List.of(SHORT, LONG);
        assertNotEquals(Perplexity.of(model, texts, null).perplexity(),
                Perplexity.of(model, texts, SteeringPlan.of(shift, 1.0)).perplexity());
    }

    @Test
    void refusesTextsWithNothingToPredict() {
        assertThrows(IllegalArgumentException.class, () -> Perplexity.of(model, List.of(""), null));
        assertThrows(IllegalArgumentException.class, () -> Perplexity.of(model, List.of(SHORT), null, 0));
    }
}
