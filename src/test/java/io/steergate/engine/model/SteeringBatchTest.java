package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The generation form of a batch's steering folds omega into the RMSNorm weight at norm sites: the same function as
 * the plain hooks (up to float rounding), exactly the unsteered norm for a row without steering there, and only where
 * a fold is exact in kind (one stage, no support, a norm's output).
 */
class SteeringBatchTest {

    private static LlamaModel model;

    @BeforeAll
    static void load() throws IOException {
        model = TestModel.load();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void omegaFoldsIntoTheNormWeightAtNormSitesOnly() {
        int dim = model.config().dim();
        Random random = new Random(3);
        HookStage stage = stage(random, false);
        int attnNorm = SiteHook.index(1, HookPoint.ATTN_NORM);
        int resid = SiteHook.index(1, HookPoint.RESID);
        try (NDManager manager = model.newSubManager()) {
            List<RowSteering> rows = Arrays.asList(row(attnNorm, stage, resid, stage), null); // row 1 unsteered
            SteeringBatch batch = SteeringBatch.build(manager, rows, model);
            SiteHook.FoldedNorm folded = assertInstanceOf(SiteHook.FoldedNorm.class, batch.hooks()[attnNorm]);
            assertFalse(batch.hooks()[resid] instanceof SiteHook.FoldedNorm, "resid is not a norm's output");
            float[] norm = model.normWeight(1, HookPoint.ATTN_NORM);
            float[] weight = folded.weight().toFloatArray(); // (2, 1, dim)
            for (int i = 0; i < dim; i++) {
                assertTrue(weight[i] == norm[i] * stage.omega()[i], "row 0 neuron " + i);
                assertTrue(weight[dim + i] == norm[i], "row 1 keeps the norm's weight, neuron " + i);
            }
            NDArray normalized = manager.randomNormal(new Shape(2, 3, dim));
            NDArray norms = manager.create(norm);
            float[] viaFold = folded.applyAfterNorm(normalized, norms).toFloatArray();
            float[] plain = folded.apply(normalized.mul(norms)).toFloatArray();
            float[] unsteered = normalized.mul(norms).toFloatArray();
            for (int i = 0; i < viaFold.length; i++) {
                assertTrue(Math.abs(viaFold[i] - plain[i]) <= 1e-5f * Math.max(1f, Math.abs(plain[i])), "element " + i);
            }
            int half = viaFold.length / 2;
            assertArrayEquals(Arrays.copyOfRange(unsteered, half, viaFold.length),
                    Arrays.copyOfRange(viaFold, half, viaFold.length), "the unsteered row is bit for bit unsteered");
        }
    }

    @Test
    void aSupportOrTwoStagesOrTheTrainingBuildIsNotFolded() {
        Random random = new Random(4);
        int site = SiteHook.index(0, HookPoint.MLP_NORM);
        try (NDManager manager = model.newSubManager()) {
            SteeringBatch supported = SteeringBatch.build(manager, List.of(row(site, stage(random, true))), model);
            assertFalse(supported.hooks()[site] instanceof SiteHook.FoldedNorm, "a support is a mask, not a scale");
            SortedMap<Integer, List<HookStage>> twoStages = new TreeMap<>();
            twoStages.put(site, List.of(stage(random, false), stage(random, false)));
            SteeringBatch two = SteeringBatch.build(manager, List.of(() -> twoStages), model);
            assertFalse(two.hooks()[site] instanceof SiteHook.FoldedNorm, "two stages");
            SteeringBatch training = SteeringBatch.build(manager, List.of(row(site, stage(random, false))),
                    model.config());
            assertFalse(training.hooks()[site] instanceof SiteHook.FoldedNorm, "gradients must reach omega");
        }
    }

    @Test
    void aForwardWithFoldedNormsMatchesThePlainHooks() {
        Random random = new Random(5);
        List<Integer> sites = new ArrayList<>();
        for (int l = 0; l < model.config().nLayers(); l++) {
            sites.add(SiteHook.index(l, HookPoint.ATTN_NORM));
            sites.add(SiteHook.index(l, HookPoint.MLP_NORM));
        }
        SortedMap<Integer, List<HookStage>> stages = new TreeMap<>();
        sites.forEach(s -> stages.put(s, List.of(stage(random, false))));
        List<RowSteering> rows = List.of(() -> stages, () -> stages);
        float[] folded = prefillLogits(manager -> SteeringBatch.build(manager, rows, model));
        float[] plain = prefillLogits(manager -> SteeringBatch.build(manager, rows, model.config()));
        assertFalse(Arrays.equals(folded, prefillLogits(manager -> null)), "the steering changes the logits");
        LlamaModelTest.assertClose(plain, folded, 1e-4f);
    }

    private interface Build {
        SteeringBatch of(NDManager manager);
    }

    /** Logits of a two-row prefill through the KV cache path with the batch's hooks. */
    private static float[] prefillLogits(Build build) {
        int[] prompt = model.tokenizer().encode("Once upon a time, a little dog");
        int t = prompt.length;
        long[] tokens = new long[2 * t];
        long[] positions = new long[2 * t];
        float[] causal = new float[t * t];
        for (int b = 0; b < 2; b++) {
            for (int i = 0; i < t; i++) {
                tokens[b * t + i] = prompt[i];
                positions[b * t + i] = i;
            }
        }
        for (int i = 0; i < t; i++) {
            Arrays.fill(causal, i * t + i + 1, (i + 1) * t, LlamaModel.MASKED);
        }
        try (NDManager step = model.newSubManager()) {
            model.lendWeights(step);
            KvCache cache = new KvCache(step, model.config(), 2, t);
            SteeringBatch steering = build.of(step);
            Shape shape = new Shape(2, t);
            return model.forward(step.create(tokens, shape), step.create(positions, shape),
                    step.create(causal, new Shape(t, t)), cache, 0, steering == null ? null : steering.hooks(),
                    model.config().nLayers()).toFloatArray();
        }
    }

    private static RowSteering row(int site, HookStage stage) {
        SortedMap<Integer, List<HookStage>> stages = new TreeMap<>();
        stages.put(site, List.of(stage));
        return () -> stages;
    }

    private static RowSteering row(int site, HookStage stage, int other, HookStage otherStage) {
        SortedMap<Integer, List<HookStage>> stages = new TreeMap<>();
        stages.put(site, List.of(stage));
        stages.put(other, List.of(otherStage));
        return () -> stages;
    }

    /** omega near 1, beta near 0; with a support (-1, 1) on every neuron when asked. */
    private static HookStage stage(Random random, boolean support) {
        int dim = model.config().dim();
        float[] omega = new float[dim];
        float[] beta = new float[dim];
        for (int i = 0; i < dim; i++) {
            omega[i] = 1 + 0.2f * (float) random.nextGaussian();
            beta[i] = 0.1f * (float) random.nextGaussian();
        }
        float[] lo = support ? new float[dim] : null;
        float[] hi = support ? new float[dim] : null;
        if (support) {
            Arrays.fill(lo, -1f);
            Arrays.fill(hi, 1f);
        }
        return new HookStage() {
            @Override
            public float[] omega() {
                return omega;
            }

            @Override
            public float[] beta() {
                return beta;
            }

            @Override
            public float[] lo() {
                return lo;
            }

            @Override
            public float[] hi() {
                return hi;
            }
        };
    }
}
