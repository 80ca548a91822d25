package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The token-gated stage (DSAS): y = x + sigmoid(gate . x + bias) (omega x + beta - x) inside the support, x outside,
 * the same in the scalar reference, the NDArray hook and the plain-Java decoder.
 */
class GatedStageTest {

    private static final String PROMPT = "The little dog was very sad because his ball was lost in the tall grass";

    private static LlamaModel model;

    @BeforeAll
    static void load() throws IOException {
        model = TestModel.load();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** x = (1, 2), omega = (2, 0.5), beta = (1, -1): T(x) = (3, 0); gate (0.5, -0.25) gives gate . x = 0. */
    private static final float[] X = {1f, 2f};
    private static final float[] OMEGA = {2f, 0.5f};
    private static final float[] BETA = {1f, -1f};
    private static final float[] GATE = {0.5f, -0.25f};

    @Test
    void aHandComputedVector() {
        // bias 0: g = 1/2, y = x + (T(x) - x) / 2 = (2, 1)
        assertArrayEquals(new float[] {2f, 1f}, stage(GATE, 0f, null, null).apply(X), 0f);
        // bias ln 3: g = 3/4, y = (1 + 0.75 * 2, 2 - 0.75 * 2) = (2.5, 0.5)
        assertArrayEquals(new float[] {2.5f, 0.5f}, stage(GATE, (float) Math.log(3), null, null).apply(X), 1e-6f);
        // a support (0, 1.5) holds x_0 only: x_1 stays
        assertArrayEquals(new float[] {2f, 2f},
                stage(GATE, 0f, new float[] {0f, 0f}, new float[] {1.5f, 1.5f}).apply(X), 0f);
        assertArrayEquals(new float[] {2f, 1f}, ndApply(stage(GATE, 0f, null, null), X), 1e-6f);
        assertArrayEquals(new float[] {2.5f, 0.5f}, ndApply(stage(GATE, (float) Math.log(3), null, null), X), 1e-6f);
        assertArrayEquals(new float[] {2f, 2f},
                ndApply(stage(GATE, 0f, new float[] {0f, 0f}, new float[] {1.5f, 1.5f}), X), 1e-6f);
    }

    @Test
    void anOpenGateIsTheUngatedStageAndAClosedOneTheIdentity() {
        Random random = new Random(3);
        int dim = 64;
        float[] x = gaussian(random, dim, 1f);
        float[] gate = gaussian(random, dim, 0.1f);
        HookStage plain = stage(random, dim, true, null, 0f);
        HookStage open = new Stage(plain.omega(), plain.beta(), plain.lo(), plain.hi(), gate, 40f);
        HookStage closed = new Stage(plain.omega(), plain.beta(), plain.lo(), plain.hi(), gate, -40f);
        assertArrayEquals(plain.apply(x), open.apply(x), 1e-6f);
        assertArrayEquals(x, closed.apply(x), 1e-6f);
        assertArrayEquals(ndApply(plain, x), ndApply(open, x), 1e-6f);
        assertArrayEquals(x, ndApply(closed, x), 1e-6f);
    }

    @Test
    void theNdArrayForwardAndTheLoopDecoderAgreeWithGatedMaps() {
        RowSteering steering = gatedSteering(new Random(17));
        int[] prompt = model.tokenizer().encode(PROMPT);
        LoopDecoder loops = model.loops();
        float[] loopLogits = loops.forward(List.of(loops.newRow(prompt.length, steering)), List.of(prompt), Set.of(),
                new HashMap<>());
        float[] ndLogits = ndLogits(steering, prompt);
        assertArrayEquals(ndLogits, loopLogits, 1e-4f);
        float[] plain = loops.forward(List.of(loops.newRow(prompt.length, null)), List.of(prompt), Set.of(),
                new HashMap<>());
        RowSteering ungated = ungated(steering);
        float[] ungatedLogits = loops.forward(List.of(loops.newRow(prompt.length, ungated)), List.of(prompt),
                Set.of(), new HashMap<>());
        assertFalse(Arrays.equals(plain, loopLogits), "the gated steering changes the logits");
        assertFalse(Arrays.equals(ungatedLogits, loopLogits), "the gates change what the maps do");
    }

    @Test
    void aGatedRowComputesTheSameBitsWhateverRowsShareItsForward() {
        RowSteering gated = gatedSteering(new Random(5));
        RowSteering other = ungated(gatedSteering(new Random(6)));
        int[] prompt = model.tokenizer().encode(PROMPT);
        int[] second = model.tokenizer().encode("Lily saw a cat");
        LoopDecoder loops = model.loops();
        float[] alone = loops.forward(List.of(loops.newRow(prompt.length, gated)), List.of(prompt), Set.of(),
                new HashMap<>());
        float[] together = loops.forward(List.of(loops.newRow(second.length, other), loops.newRow(prompt.length,
                gated)), List.of(second, prompt), Set.of(), new HashMap<>());
        int vocab = model.config().vocabSize();
        assertArrayEquals(alone, Arrays.copyOfRange(together, vocab, 2 * vocab));
    }

    @Test
    void anUngatedRowInABatchWithAGatedOneKeepsItsNdArrayResult() {
        Random random = new Random(9);
        int dim = 64;
        HookStage plain = stage(random, dim, false, null, 0f);
        HookStage gated = stage(random, dim, true, gaussian(random, dim, 0.1f), 0.5f);
        float[] x = gaussian(random, dim, 1f);
        try (NDManager manager = NDManager.newBaseManager()) {
            SteeringBatch alone = SteeringBatch.build(manager, List.of(rows(plain)), 1, dim);
            SteeringBatch mixed = SteeringBatch.build(manager, List.of(rows(plain), rows(gated)), 1, dim);
            int site = SiteHook.index(0, HookPoint.RESID);
            float[] one = alone.hooks()[site].apply(manager.create(x, new Shape(1, 1, dim))).toFloatArray();
            float[] both = mixed.hooks()[site].apply(manager.create(concat(x, x), new Shape(2, 1, dim)))
                    .toFloatArray();
            assertArrayEquals(one, Arrays.copyOfRange(both, 0, dim), 0f);
            assertArrayEquals(gated.apply(x), Arrays.copyOfRange(both, dim, 2 * dim), 1e-5f);
        }
    }

    private static float[] ndLogits(RowSteering steering, int[] prompt) {
        try (NDManager step = model.newSubManager()) {
            model.lendWeights(step);
            SiteHook[] hooks = SteeringBatch.build(step, List.of(steering), model).hooks(); // the generation overload: no norm fold for a gate
            return model.forwardPrompts(PromptBatch.of(step, new int[][] {prompt}), hooks, model.config().nLayers())
                    .toFloatArray();
        }
    }

    /** One row through the NDArray hook of {@code stage} at a site of width x.length. */
    private static float[] ndApply(HookStage stage, float[] x) {
        try (NDManager manager = NDManager.newBaseManager()) {
            SteeringBatch batch = SteeringBatch.build(manager, List.of(rows(stage)), 1, x.length);
            NDArray in = manager.create(x, new Shape(1, 1, x.length));
            return batch.hooks()[SiteHook.index(0, HookPoint.RESID)].apply(in).toFloatArray();
        }
    }

    private static RowSteering rows(HookStage stage) {
        SortedMap<Integer, List<HookStage>> stages = new TreeMap<>();
        stages.put(SiteHook.index(0, HookPoint.RESID), List.of(stage));
        return () -> stages;
    }

    /**
     * Gated stages at a norm site, a branch output (with a support) and the residual stream, and one site with an
     * ungated stage before a gated one; the gates are small so that they are neither open nor closed.
     */
    private static RowSteering gatedSteering(Random random) {
        int dim = model.config().dim();
        SortedMap<Integer, List<HookStage>> stages = new TreeMap<>();
        stages.put(SiteHook.index(0, HookPoint.ATTN_NORM), List.of(stage(random, dim, false, gaussian(random, dim,
                0.3f), 0.2f)));
        stages.put(SiteHook.index(1, HookPoint.ATTN_OUT), List.of(stage(random, dim, true, gaussian(random, dim,
                0.3f), -0.3f)));
        stages.put(SiteHook.index(2, HookPoint.RESID), List.of(stage(random, dim, false, null, 0f),
                stage(random, dim, false, gaussian(random, dim, 0.1f), 0.1f)));
        stages.put(SiteHook.index(3, HookPoint.MLP_OUT), List.of(stage(random, dim, false, gaussian(random, dim,
                0.3f), 0f)));
        return () -> stages;
    }

    /** The same stages without their gates. */
    private static RowSteering ungated(RowSteering steering) {
        SortedMap<Integer, List<HookStage>> stages = new TreeMap<>();
        steering.stagesBySite().forEach((site, list) -> stages.put(site, list.stream()
                .<HookStage>map(s -> new Stage(s.omega(), s.beta(), s.lo(), s.hi(), null, 0f)).toList()));
        return () -> stages;
    }

    private static HookStage stage(float[] gate, float bias, float[] lo, float[] hi) {
        return new Stage(OMEGA, BETA, lo, hi, gate, bias);
    }

    private static HookStage stage(Random random, int dim, boolean supported, float[] gate, float bias) {
        HookStage plain = LoopDecoderTest.stage(random, dim, supported);
        return new Stage(plain.omega(), plain.beta(), plain.lo(), plain.hi(), gate, bias);
    }

    private static float[] gaussian(Random random, int n, float scale) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = scale * (float) random.nextGaussian();
        }
        return out;
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void theGateFactorIsTheLogisticOfTheDotProduct() {
        assertEquals(0.5f, HookStage.gateOf(X, GATE, 0f), 0f);
        assertEquals(0.75f, HookStage.gateOf(X, GATE, (float) Math.log(3)), 1e-7f);
        assertTrue(HookStage.gateOf(X, GATE, -40f) < 1e-17f);
    }

    private record Stage(float[] omega, float[] beta, float[] lo, float[] hi, float[] gate, float gateBias)
            implements HookStage {}
}
