package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The plain-Java forward: run.c's numbers at every position, the NDArray forward's with steering and pooling, and the
 * same bits for a row however its tokens are chunked and whatever rows (and threads) share its forward.
 */
class LoopDecoderTest {

    private static final String LONG_PROMPT = "The little dog was very sad because his ball was lost in the tall grass";

    private static LlamaModel model;
    private static LoopDecoder loops;

    @BeforeAll
    static void load() throws IOException {
        model = TestModel.load();
        loops = model.loops();
        assertNotNull(loops, "a model on the CPU has the plain-Java forward");
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void logitsMatchTheScalarReferenceAtEveryPosition() throws IOException {
        ReferenceLlama reference = new ReferenceLlama(TestModel.dir().resolve("stories260K.bin"));
        int[] prompt = model.tokenizer().encode("Once upon a time");
        int[] golden = GeneratorTest.golden("once-upon-a-time-greedy-64.txt");
        int[] tokens = IntStream.concat(Arrays.stream(prompt), Arrays.stream(golden)).toArray();
        LoopDecoder.Row row = loops.newRow(tokens.length, null);
        for (int pos = 0; pos < tokens.length; pos++) {
            float[] logits = feed(row, null, tokens[pos]);
            assertArrayEquals(reference.forward(tokens[pos], pos), logits, 1e-4f, "position " + pos);
        }
        assertEquals(tokens.length, row.length());
    }

    @Test
    void theScalarAttentionComputesWhatTheVectorKernelsDo() throws IOException {
        assertTrue(LoopDecoder.VECTOR_API, "the tests run with --add-modules jdk.incubator.vector (pom.xml)");
        int[] prompt = model.tokenizer().encode("Once upon a time");
        int[] golden = GeneratorTest.golden("once-upon-a-time-greedy-64.txt");
        int[] tokens = IntStream.concat(Arrays.stream(prompt), Arrays.stream(golden)).toArray();
        try (LlamaModel scalarModel = scalarModel()) {
            LoopDecoder scalar = scalarModel.loops();
            LoopDecoder.Row scalarRow = scalar.newRow(tokens.length, null);
            LoopDecoder.Row vectorRow = loops.newRow(tokens.length, null);
            boolean differ = false;
            for (int pos = 0; pos < tokens.length; pos++) {
                float[] expected = scalar.forward(List.of(scalarRow), List.of(new int[] {tokens[pos]}), Set.of(),
                        new HashMap<>());
                float[] actual = feed(vectorRow, null, tokens[pos]);
                assertArrayEquals(expected, actual, 1e-4f, "position " + pos); // as against run.c
                differ |= !Arrays.equals(expected, actual);
            }
            // the two paths really are two: sums in another order change the last bits somewhere
            assertTrue(differ, "the vector kernels were not used");
        }
    }

    /** Random weights with 1, 2 and 4 query heads per kv head (stories260K has 2), past 32 positions. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void bothPathsAgreeWhateverTheQueryHeadsPerKvHead(int queryHeadsPerKvHead) {
        LlamaConfig config = new LlamaConfig(32, 48, 2, 4, 4 / queryHeadsPerKvHead, 40, 64, true);
        Random random = new Random(queryHeadsPerKvHead);
        int dim = config.dim();
        int kvDim = config.kvDim();
        int hidden = config.hiddenDim();
        float[][] rms = {weights(random, dim, 1), weights(random, dim, 1)};
        float[][] wqkv = {weights(random, dim * (dim + 2 * kvDim), 0.3f), weights(random, dim * (dim + 2 * kvDim), 0.3f)};
        float[][] wo = {weights(random, dim * dim, 0.2f), weights(random, dim * dim, 0.2f)};
        float[][] w13 = {weights(random, dim * 2 * hidden, 0.2f), weights(random, dim * 2 * hidden, 0.2f)};
        float[][] w2 = {weights(random, hidden * dim, 0.2f), weights(random, hidden * dim, 0.2f)};
        float[] embedding = weights(random, config.vocabSize() * dim, 1);
        float[] wcls = weights(random, dim * config.vocabSize(), 0.2f);
        LoopDecoder vector = new LoopDecoder(config, embedding, rms, wqkv, wo, rms, w13, w2, rms[0], wcls);
        System.setProperty(LoopDecoder.SCALAR_KERNELS_PROPERTY, "true");
        LoopDecoder scalar;
        try {
            scalar = new LoopDecoder(config, embedding, rms, wqkv, wo, rms, w13, w2, rms[0], wcls);
        } finally {
            System.clearProperty(LoopDecoder.SCALAR_KERNELS_PROPERTY);
        }
        assertEquals("Vector API", vector.kernels()); // what the worker's start-up line says
        assertEquals("scalar (-Dsteergate.model.scalar-kernels=true)", scalar.kernels());
        assertEquals("Vector API", model.loopKernels());
        LoopDecoder.Row vectorRow = vector.newRow(60, null);
        LoopDecoder.Row scalarRow = scalar.newRow(60, null);
        boolean differ = false;
        for (int pos = 0; pos < 60; pos++) {
            List<int[]> token = List.of(new int[] {random.nextInt(config.vocabSize())});
            float[] expected = scalar.forward(List.of(scalarRow), token, Set.of(), new HashMap<>());
            float[] actual = vector.forward(List.of(vectorRow), token, Set.of(), new HashMap<>());
            assertArrayEquals(expected, actual, 1e-4f, "position " + pos);
            differ |= !Arrays.equals(expected, actual);
        }
        assertTrue(differ, "the vector kernels were not used");
    }

    private static float[] weights(Random random, int size, float scale) {
        float[] w = new float[size];
        for (int i = 0; i < size; i++) {
            w[i] = scale * (float) random.nextGaussian();
        }
        return w;
    }

    @Test
    void aPromptFedAtOnceComputesTheBitsOfOneTokenAtATime() {
        int[] prompt = model.tokenizer().encode(LONG_PROMPT);
        RowSteering steering = randomSteering(new Random(3));
        LoopDecoder.Row whole = loops.newRow(prompt.length + 1, steering);
        LoopDecoder.Row stepped = loops.newRow(prompt.length + 1, steering);
        float[] atOnce = feed(whole, null, prompt);
        float[] last = null;
        for (int token : prompt) {
            last = feed(stepped, null, token);
        }
        assertArrayEquals(last, atOnce);
        // the keys and values they hold are the same too: the next token reads them
        assertArrayEquals(feed(stepped, null, 42), feed(whole, null, 42));
    }

    @Test
    void aStepComputesTheSameBitsWhateverTheThreadsLastForwardLeftInItsArrays() {
        // a thread reuses the rows of its earlier forwards, of any shape: nothing may leak from one forward to the next
        int[] prompt = model.tokenizer().encode(LONG_PROMPT);
        RowSteering steering = randomSteering(new Random(5));
        LoopDecoder.Row alone = loops.newRow(prompt.length, steering);
        List<float[]> expected = new ArrayList<>();
        for (int token : prompt) {
            expected.add(feed(alone, null, token));
        }
        LoopDecoder.Row interleaved = loops.newRow(prompt.length, steering);
        LoopDecoder.Row sameShape = loops.newRow(prompt.length, randomSteering(new Random(6)));
        LoopDecoder.Row otherShape = loops.newRow(2 * prompt.length, null);
        for (int i = 0; i < prompt.length; i++) {
            feed(sameShape, null, prompt[prompt.length - 1 - i]);
            assertArrayEquals(expected.get(i), feed(interleaved, null, prompt[i]), "after a step of another row");
            feed(otherShape, null, prompt[i], prompt[(i + 3) % prompt.length]);
        }
    }

    @Test
    void aLongOneRowPrefillAllocatesItsLayersRowsAndOneRowOfLogitsNotALogitsRowPerToken() throws IOException {
        // one forward of 400 tokens in one row: the layers need 400 rows of each intermediate, the logits only one row
        // (a vocabulary-wide row per token would cost a 1B-class model gigabytes for one long prompt). On the scalar
        // loops: until C2 compiles them, the Vector API's operations allocate an object each
        int tokens = 400;
        int[] prompt = IntStream.range(0, tokens).map(i -> 3 + i % 300).toArray();
        LlamaConfig c = model.config();
        long layerRows = (long) tokens * (7L * c.dim() + 2L * c.kvDim() + 3L * c.hiddenDim()) * Float.BYTES;
        long logitsPerToken = (long) tokens * c.vocabSize() * Float.BYTES;
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        try (LlamaModel scalarModel = scalarModel()) {
            LoopDecoder scalar = scalarModel.loops();
            LoopDecoder.Row row = scalar.newRow(tokens, null);
            long before = threads.getCurrentThreadAllocatedBytes();
            scalar.forward(List.of(row), List.of(prompt), Set.of(), new HashMap<>());
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertTrue(allocated < layerRows + logitsPerToken / 2,
                    allocated + " bytes for " + layerRows + " of layer rows");
        }
    }

    /** The test model once more, on the scalar loops. */
    private static LlamaModel scalarModel() throws IOException {
        System.setProperty(LoopDecoder.SCALAR_KERNELS_PROPERTY, "true");
        try {
            return TestModel.load();
        } finally {
            System.clearProperty(LoopDecoder.SCALAR_KERNELS_PROPERTY);
        }
    }

    @Test
    void rowsSplitAcrossThreadsComputeWhatEachComputesAlone() {
        Random random = new Random(7);
        String[] prompts = {"Once upon a time", "", LONG_PROMPT, "Tom and Sue", "A cat", "One day, a bird",
            "Lily had a red ball", "The sun"};
        Set<Integer> pooled = Set.of(SiteHook.index(1, HookPoint.RESID), SiteHook.index(4, HookPoint.MLP_NORM));
        List<LoopDecoder.Row> rows = new ArrayList<>();
        List<RowSteering> steering = new ArrayList<>();
        List<int[]> tokens = new ArrayList<>();
        for (int r = 0; r < prompts.length; r++) {
            steering.add(r % 3 == 0 ? null : randomSteering(random));
            tokens.add(model.tokenizer().encode(prompts[r]));
            rows.add(loops.newRow(tokens.get(r).length, steering.get(r)));
        }
        Map<Integer, float[]> columns = new HashMap<>();
        float[] together = loops.forward(rows, tokens, pooled, columns);
        int vocab = model.config().vocabSize();
        int dim = model.config().dim();
        for (int r = 0; r < prompts.length; r++) {
            Map<Integer, float[]> own = new HashMap<>();
            float[] alone = feed(loops.newRow(tokens.get(r).length, steering.get(r)), own, tokens.get(r));
            assertArrayEquals(alone, Arrays.copyOfRange(together, r * vocab, (r + 1) * vocab), "row " + r);
            for (int site : pooled) {
                assertArrayEquals(own.get(site), Arrays.copyOfRange(columns.get(site), r * dim, (r + 1) * dim),
                        "row " + r + " site " + site);
            }
        }
    }

    @Test
    void steeredLogitsAndPooledColumnsAgreeWithTheNdArrayForward() {
        RowSteering steering = randomSteering(new Random(11));
        int[] prompt = model.tokenizer().encode(LONG_PROMPT);
        int site = SiteHook.index(2, HookPoint.ATTN_OUT);
        Map<Integer, float[]> columns = new HashMap<>();
        float[] loopLogits = feed(loops.newRow(prompt.length, steering), columns, prompt);
        float[][] ndColumn = new float[1][];
        float[] ndLogits;
        try (NDManager step = model.newSubManager()) {
            model.lendWeights(step);
            SiteHook[] hooks = SteeringBatch.build(step, List.of(steering), model.config()).hooks().clone();
            SiteHook own = hooks[site] == null ? SiteHook.identity() : hooks[site];
            hooks[site] = own.observed(y -> ndColumn[0] = y.get(new NDIndex(":, -1, :")).toFloatArray());
            ndLogits = model.forwardPrompts(PromptBatch.of(step, new int[][] {prompt}), hooks, model.config().nLayers())
                    .toFloatArray();
        }
        assertArrayEquals(ndLogits, loopLogits, 1e-4f);
        assertArrayEquals(ndColumn[0], columns.get(site), 1e-5f);
        float[] plain = feed(loops.newRow(prompt.length, null), null, prompt);
        assertTrue(!Arrays.equals(plain, loopLogits), "the steering changes the logits");
    }

    @Test
    void aRowHoldsWhatItsCapacitySaysAndNoMore() {
        LoopDecoder.Row row = loops.newRow(3, null);
        feed(row, null, 1, 5);
        IllegalStateException full = assertThrows(IllegalStateException.class, () -> feed(row, null, 7, 8));
        assertEquals("row 0 holds 2 of 3 positions; 2 more do not fit", full.getMessage());
        assertEquals(2, row.length());
        assertThrows(IllegalArgumentException.class, () -> loops.newRow(0, null));
        assertThrows(IllegalArgumentException.class, () -> loops.newRow(model.config().seqLen() + 1, null));
    }

    /** Feeds tokens to one row; the logits of the last, the pooled columns into {@code columns} when given. */
    private static float[] feed(LoopDecoder.Row row, Map<Integer, float[]> columns, int... tokens) {
        Map<Integer, float[]> into = columns == null ? new HashMap<>() : columns;
        Set<Integer> pooled = columns == null ? Set.of() : Set.of(SiteHook.index(1, HookPoint.RESID),
                SiteHook.index(4, HookPoint.MLP_NORM), SiteHook.index(2, HookPoint.ATTN_OUT));
        return loops.forward(List.of(row), List.of(tokens), pooled, into);
    }

    /** Stages at a few sites: one plain, one with a support, one site with two stages. */
    private static RowSteering randomSteering(Random random) {
        int dim = model.config().dim();
        SortedMap<Integer, List<HookStage>> stages = new TreeMap<>();
        stages.put(SiteHook.index(0, HookPoint.ATTN_NORM), List.of(stage(random, dim, false)));
        stages.put(SiteHook.index(1, HookPoint.RESID), List.of(stage(random, dim, true)));
        stages.put(SiteHook.index(3, HookPoint.MLP_OUT), List.of(stage(random, dim, false), stage(random, dim, true)));
        return () -> stages;
    }

    /** A random stage of width dim (omega near 1, small beta), with a support of width 1 when asked. */
    static HookStage stage(Random random, int dim, boolean supported) {
        float[] omega = new float[dim];
        float[] beta = new float[dim];
        float[] lo = supported ? new float[dim] : null;
        float[] hi = supported ? new float[dim] : null;
        for (int i = 0; i < dim; i++) {
            omega[i] = 1 + 0.3f * (float) random.nextGaussian();
            beta[i] = 0.3f * (float) random.nextGaussian();
            if (supported) {
                lo[i] = -0.5f + 0.2f * (float) random.nextGaussian();
                hi[i] = lo[i] + 1f;
            }
        }
        return new Stage(omega, beta, lo, hi);
    }

    private record Stage(float[] omega, float[] beta, float[] lo, float[] hi) implements HookStage {}
}
