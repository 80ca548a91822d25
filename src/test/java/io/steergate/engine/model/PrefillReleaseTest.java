package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDResource;
import ai.djl.ndarray.types.Shape;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A forward with a KV cache (prefill and decode) closes each layer's intermediates (attention scores and
 * probabilities, the MLP's gate and up projections, ...) once the layer is done: what stays attached to the step's
 * manager is the same whatever the number of layers run, the new hidden state beside the KV cache it wrote.
 */
class PrefillReleaseTest {

    private static final int ROWS = 3;
    private static final int PROMPT = 12;

    @Test
    void arraysLeftAfterPrefillDoNotGrowWithTheLayers() throws IOException {
        try (LlamaModel model = TestModel.load()) {
            int layers = model.config().nLayers();
            int[] grown = new int[layers + 1];
            for (int run = 1; run <= layers; run++) {
                grown[run] = arraysLeftByPrefill(model, run);
            }
            System.out.printf("PrefillReleaseTest: arrays left on the step by a prefill of 1..%d layers: %s%n", layers,
                    Arrays.toString(Arrays.copyOfRange(grown, 1, layers + 1)));
            for (int run = 1; run < layers; run++) {
                // the RoPE rotations of the positions (read by every layer) and the hidden state after the last layer
                assertEquals(2, grown[run], "arrays left by a prefill of " + run + " layers");
            }
            // all layers: the logits instead of the hidden state
            assertEquals(2, grown[layers], "arrays left by a prefill of all layers");
        }
    }

    @Test
    void theCacheThePrefillWritesAndItsLogitsAreTheSameAsWithoutReleasing() throws IOException {
        try (LlamaModel model = TestModel.load()) {
            // the forward without a cache keeps every intermediate (training needs them): the reference
            float[] withCache;
            float[] reference;
            try (NDManager generation = model.manager().newSubManager()) {
                KvCache cache = new KvCache(generation, model.config(), ROWS, PROMPT);
                try (NDManager step = generation.newSubManager()) {
                    attach(step, model, cache);
                    NDArray[] inputs = inputs(step);
                    withCache = model.forward(inputs[0], inputs[1], inputs[2], cache, 0).toFloatArray();
                }
            }
            try (NDManager step = model.newSubManager()) {
                model.lendWeights(step);
                NDArray[] inputs = inputs(step);
                reference = model.forward(inputs[0], inputs[1], inputs[2], null, 0).toFloatArray();
            }
            assertArrayEquals(reference, withCache);
        }
    }

    /** How many more arrays the step's manager holds after a prefill of the first {@code layers} layers. */
    private static int arraysLeftByPrefill(LlamaModel model, int layers) {
        try (NDManager generation = model.manager().newSubManager()) {
            KvCache cache = new KvCache(generation, model.config(), ROWS, PROMPT);
            try (NDManager step = generation.newSubManager()) {
                attach(step, model, cache);
                NDArray[] inputs = inputs(step);
                int before = step.getManagedArrays().size();
                model.forward(inputs[0], inputs[1], inputs[2], cache, 0, null, layers);
                return step.getManagedArrays().size() - before;
            }
        }
    }

    private static void attach(NDManager step, LlamaModel model, KvCache cache) {
        List<NDResource> longLived = new ArrayList<>(model.longLived());
        longLived.addAll(cache.all());
        step.tempAttachAll(longLived.toArray(new NDResource[0]));
    }

    /** Tokens, positions and a causal mask of ROWS prompts of PROMPT tokens. */
    private static NDArray[] inputs(NDManager step) {
        long[] tokens = new long[ROWS * PROMPT];
        long[] positions = new long[ROWS * PROMPT];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = 1 + (i * 37) % 500;
            positions[i] = i % PROMPT;
        }
        float[] causal = new float[PROMPT * PROMPT];
        for (int i = 0; i < PROMPT; i++) {
            Arrays.fill(causal, i * PROMPT + i + 1, (i + 1) * PROMPT, LlamaModel.MASKED);
        }
        Shape shape = new Shape(ROWS, PROMPT);
        return new NDArray[] {step.create(tokens, shape), step.create(positions, shape),
                step.create(causal, new Shape(PROMPT, PROMPT))};
    }
}
