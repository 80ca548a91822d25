package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The NDArray forward against the scalar run.c port, and the loader's contract. */
class LlamaModelTest {

    private static LlamaModel model;
    private static ReferenceLlama reference;

    @BeforeAll
    static void load() throws IOException {
        model = TestModel.load();
        reference = new ReferenceLlama(TestModel.dir().resolve("stories260K.bin"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void readsTheStories260KConfig() {
        assertEquals(new LlamaConfig(64, 172, 5, 8, 4, 512, 512, true), model.config());
        assertEquals(8, model.config().headSize());
        assertEquals("stories260K", model.name());
        assertEquals("sha256:" + ModelFiles.SHA256.get("stories260K.bin"), model.fingerprint());
        assertEquals(ai.djl.Device.cpu(), model.device());
    }

    @Test
    void prefillLogitsMatchTheScalarReference() {
        int[] prompt = model.tokenizer().encode("Once upon a time, a little dog");
        float[] expected = referenceLogits(prompt);
        int t = prompt.length;
        try (NDManager step = model.manager().newSubManager()) {
            step.tempAttachAll(model.longLived().toArray(new NDArray[0]));
            KvCache cache = new KvCache(step, model.config(), 1, t);
            float[] causal = new float[t * t];
            for (int i = 0; i < t; i++) {
                Arrays.fill(causal, i * t + i + 1, (i + 1) * t, LlamaModel.MASKED);
            }
            NDArray logits = model.forward(step.create(Arrays.stream(prompt).asLongStream().toArray(), new Shape(1, t)),
                    step.arange(0L, (long) t).reshape(1, t), step.create(causal, new Shape(t, t)), cache, 0);
            assertClose(expected, logits.toFloatArray(), 1e-4f);
        }
    }

    @Test
    void decodeLogitsMatchTheScalarReferenceAtEveryPosition() {
        int[] prompt = model.tokenizer().encode("The cat sat on the mat. It was happy.");
        ReferenceLlama fresh = reference;
        try (NDManager generation = model.manager().newSubManager()) {
            KvCache cache = new KvCache(generation, model.config(), 1, prompt.length);
            for (int pos = 0; pos < prompt.length; pos++) {
                float[] expected = fresh.forward(prompt[pos], pos);
                try (NDManager step = generation.newSubManager()) {
                    step.tempAttachAll(model.longLived().toArray(new NDArray[0]));
                    step.tempAttachAll(cache.all().toArray(new NDArray[0]));
                    NDArray logits = model.forward(step.create(new long[] {prompt[pos]}, new Shape(1, 1)),
                            step.create(new long[] {pos}, new Shape(1, 1)), step.zeros(new Shape(1, 1, 1, 1, pos + 1)),
                            cache, pos);
                    assertClose(expected, logits.toFloatArray(), 1e-4f);
                }
            }
        }
    }

    @Test
    void greedyTokensMatchTheScalarReference() {
        int[] prompt = model.tokenizer().encode("Once upon a time");
        int[] expected = reference.greedy(prompt, 48);
        Completion completion = new Generator(model).generate(java.util.List.of(GenerationInput.greedy("Once upon a time", 48))).get(0);
        assertEquals(model.tokenizer().decode(prompt[prompt.length - 1], expected), completion.text());
        assertEquals(expected.length, completion.completionTokens());
    }

    @Test
    void gpuRequestedWithoutOneIsAClearError() {
        org.junit.jupiter.api.Assumptions.assumeTrue(ai.djl.engine.Engine.getInstance().getGpuCount() == 0);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> LlamaModel.load(TestModel.dir(), DeviceChoice.GPU));
        assertTrue(e.getMessage().contains("GPU"), e.getMessage());
    }

    @Test
    void aDirectoryWithoutACheckpointIsRejected(@TempDir Path dir) throws IOException {
        Files.copy(TestModel.dir().resolve("tok512.bin"), dir.resolve("tok512.bin"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(dir, DeviceChoice.CPU));
        assertTrue(e.getMessage().contains("checkpoint"), e.getMessage());
    }

    private static float[] referenceLogits(int[] prompt) {
        float[] logits = null;
        for (int pos = 0; pos < prompt.length; pos++) {
            logits = reference.forward(prompt[pos], pos);
        }
        return logits;
    }

    static void assertClose(float[] expected, float[] actual, float tolerance) {
        assertEquals(expected.length, actual.length);
        float worst = 0f;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= tolerance, "largest logit difference " + worst + " exceeds " + tolerance);
    }
}
