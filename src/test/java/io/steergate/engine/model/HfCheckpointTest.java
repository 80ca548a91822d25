package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The Hugging Face loader against the llama2.c path: stories260K exported as an HF directory computes the same. */
class HfCheckpointTest {

    static final List<String> PROMPTS = List.of("Once upon a time, a little dog",
            "The cat sat on the mat. It was happy.");

    @TempDir
    static Path exports;

    private static ReferenceLlama weights;
    private static LlamaModel llama2c;
    private static LlamaModel hf;

    @BeforeAll
    static void load() throws IOException {
        weights = new ReferenceLlama(TestModel.dir().resolve("stories260K.bin"));
        llama2c = TestModel.load();
        hf = LlamaModel.load(export("stories260K-hf", "F32", 1, c -> { }, t -> { }), DeviceChoice.CPU);
    }

    @AfterAll
    static void close() {
        llama2c.close();
        hf.close();
    }

    @Test
    void readsTheSameConfigWithNameAndFingerprintOfTheDirectory() throws IOException {
        assertEquals(llama2c.config(), hf.config());
        assertEquals("stories260K-hf", hf.name());
        Path safetensors = exports.resolve("stories260K-hf/model.safetensors");
        assertEquals("sha256:" + ModelFiles.sha256(safetensors), hf.fingerprint());
        assertTrue(hf.tokenizer() instanceof HfTokenizer);
    }

    @Test
    void logitsMatchTheLlama2cPath() {
        for (String prompt : PROMPTS) {
            int[] tokens = llama2c.tokenizer().encode(prompt);
            LlamaModelTest.assertClose(lastLogits(llama2c, tokens), lastLogits(hf, tokens), 1e-5f);
        }
    }

    @Test
    void greedyTokensMatchTheLlama2cPath() {
        List<GenerationInput> input = List.of(GenerationInput.greedy("Once upon a time", 64));
        Completion expected = new Generator(llama2c).generate(input).get(0);
        Completion actual = new Generator(hf).generate(input).get(0);
        assertEquals(expected, actual);
        assertTrue(actual.text().startsWith(", there was a little girl named Lily."), actual.text());
    }

    @Test
    void theHfTokenizerEncodesOnceUponATimeLikeTok512() {
        assertArrayEquals(new int[] {1, 403, 407, 261, 378}, hf.tokenizer().encode("Once upon a time"));
        assertArrayEquals(new int[] {1}, hf.tokenizer().encode(""));
    }

    @Test
    void theHfTokenizerClaimsNoBoundFromTheLengthAlone() {
        // a tokenizer.json's normalizer may remove characters: only BOS is certain
        assertEquals(1, hf.tokenizer().minTokens("a".repeat(8000)));
        assertEquals(1, hf.tokenizer().minTokens(""));
    }

    @ParameterizedTest
    @ValueSource(strings = {"Once upon a time", "Hello, world! 123", "two  spaces\nand a newline", "café crème",
            "a rocket 🚀 and 日本", "The cat sat on the mat. It was happy."})
    void theHfTokenizerEncodesAndDecodesLikeLlamaTokenizer(String text) {
        Tokenizer expected = llama2c.tokenizer();
        Tokenizer actual = hf.tokenizer();
        int[] tokens = expected.encode(text);
        assertArrayEquals(tokens, actual.encode(text));
        assertEquals(expected.decode(tokens), actual.decode(tokens));
        assertEquals(text, actual.decode(tokens));
        int[] rest = Arrays.copyOfRange(tokens, 2, tokens.length);
        assertEquals(expected.decode(tokens[1], rest), actual.decode(tokens[1], rest));
    }

    @Test
    void theHfTokenizerDecodesTheNulByteToTheReplacementCharacterToo() {
        int[] tokens = llama2c.tokenizer().encode("a\u0000b");
        assertEquals("a\uFFFDb", hf.tokenizer().decode(tokens));
        assertEquals("\uFFFD", hf.tokenizer().decode(tokens[1], new int[] {3}));
    }

    @Test
    void theLeadingSpaceIsStrippedOnlyAfterBos() {
        assertEquals("Once", hf.tokenizer().decode(1, new int[] {403}));
        assertEquals(" upon", hf.tokenizer().decode(403, new int[] {407}));
    }

    @Test
    void shardedLoadsLikeSingle() throws IOException {
        Path dir = export("sharded", "F32", 2, c -> { }, t -> { });
        assertTrue(Files.isRegularFile(dir.resolve("model-00002-of-00002.safetensors")));
        try (LlamaModel sharded = LlamaModel.load(dir, DeviceChoice.CPU)) {
            int[] tokens = hf.tokenizer().encode(PROMPTS.get(0));
            assertArrayEquals(lastLogits(hf, tokens), lastLogits(sharded, tokens));
            MessageDigest digest = sha256();
            digest.update(Files.readAllBytes(dir.resolve("model-00001-of-00002.safetensors")));
            digest.update(Files.readAllBytes(dir.resolve("model-00002-of-00002.safetensors")));
            assertEquals("sha256:" + HexFormat.of().formatHex(digest.digest()), sharded.fingerprint());
        }
    }

    @Test
    void anUntiedHeadIsReadFromLmHead() throws IOException {
        Path dir = export("untied", "F32", 1, c -> c.put("tie_word_embeddings", false), t -> { });
        try (LlamaModel untied = LlamaModel.load(dir, DeviceChoice.CPU)) {
            assertEquals(false, untied.config().sharedClassifier());
            int[] tokens = hf.tokenizer().encode(PROMPTS.get(1));
            LlamaModelTest.assertClose(lastLogits(hf, tokens), lastLogits(untied, tokens), 1e-5f);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16"})
    void halfPrecisionWeightsLoadRounded(String dtype) throws IOException {
        try (LlamaModel half = LlamaModel.load(export(dtype, dtype, 1, c -> { }, t -> { }), DeviceChoice.CPU)) {
            for (String prompt : PROMPTS) {
                int[] tokens = hf.tokenizer().encode(prompt);
                float[] expected = lastLogits(hf, tokens);
                float[] actual = lastLogits(half, tokens);
                // rounding the weights moves the logits a little (F16 keeps 11 significant bits, BF16 8)
                LlamaModelTest.assertClose(expected, actual, dtype.equals("F16") ? 0.02f : 0.15f);
                assertNotEquals(0f, maxDifference(expected, actual), "the weights were not rounded");
            }
        }
    }

    @Test
    void halfToFloatDecodesBinary16() {
        assertEquals(1f, HfCheckpoint.halfToFloat((short) 0x3C00));
        assertEquals(-2f, HfCheckpoint.halfToFloat((short) 0xC000));
        assertEquals(65504f, HfCheckpoint.halfToFloat((short) 0x7BFF));
        assertEquals(0x1p-24f, HfCheckpoint.halfToFloat((short) 0x0001));
        assertEquals(Float.POSITIVE_INFINITY, HfCheckpoint.halfToFloat((short) 0x7C00));
        assertEquals(0.333251953125f, HfCheckpoint.halfToFloat(HfExport.floatToHalf(1f / 3)));
    }

    @Test
    void unpermuteInvertsTheHfPermutation() {
        float[] w = new float[16 * 3];
        for (int i = 0; i < w.length; i++) {
            w[i] = i;
        }
        assertArrayEquals(w, HfCheckpoint.unpermute(HfExport.permute(w, 2, 16, 3), 2, 16, 3));
        // head 0 of size 8, one column: HF's rows are the interleaved pairs' first then second members
        float[] column = {0, 1, 2, 3, 4, 5, 6, 7};
        assertArrayEquals(new float[] {0, 2, 4, 6, 1, 3, 5, 7}, HfExport.permute(column, 1, 8, 1));
    }

    /**
     * The permutation is the one that turns run.c's interleaved RoPE into Hugging Face's rotate-half RoPE
     * (modeling_llama.apply_rotary_pos_emb): rotating the permuted vector the HF way equals permuting the vector
     * rotated the run.c way. This checks the convention itself, which the export round trip alone cannot.
     */
    @Test
    void thePermutationMapsInterleavedRopeToRotateHalf() {
        int hs = 8;
        int pos = 5;
        float[] q = new float[hs];
        Random random = new Random(7);
        for (int i = 0; i < hs; i++) {
            q[i] = random.nextFloat() - 0.5f;
        }
        // run.c: pairs (2j, 2j+1) turn by pos / 10000^(2j/hs)
        float[] interleaved = q.clone();
        for (int i = 0; i < hs; i += 2) {
            double angle = pos / Math.pow(10000, i / (double) hs);
            interleaved[i] = (float) (q[i] * Math.cos(angle) - q[i + 1] * Math.sin(angle));
            interleaved[i + 1] = (float) (q[i] * Math.sin(angle) + q[i + 1] * Math.cos(angle));
        }
        // HF: q * cos + rotate_half(q) * sin, cos = cat(freqs, freqs), rotate_half(x) = cat(-x2, x1)
        float[] p = HfExport.permute(q, 1, hs, 1);
        float[] rotateHalf = new float[hs];
        for (int i = 0; i < hs; i++) {
            double angle = pos / Math.pow(10000, 2 * (i % (hs / 2)) / (double) hs);
            float rotated = i < hs / 2 ? -p[i + hs / 2] : p[i - hs / 2];
            rotateHalf[i] = (float) (p[i] * Math.cos(angle) + rotated * Math.sin(angle));
        }
        assertArrayEquals(HfExport.permute(interleaved, 1, hs, 1), rotateHalf, 1e-6f);
    }

    @Test
    void normEpsAndRopeThetaComeFromConfigJson() throws IOException {
        Path dir = export("theta", "F32", 1, c -> c.put("rms_norm_eps", 1e-6).put("rope_theta", 500000.0), t -> { });
        try (LlamaModel theta = LlamaModel.load(dir, DeviceChoice.CPU)) {
            assertEquals(1e-6f, theta.config().normEps());
            assertEquals(500000f, theta.config().ropeTheta());
            // position 1, pair j = 1 of a head of 8: angle 1 / theta^(2/8), in the rotation's (2, 2) entry
            float[] r = LlamaModel.ropeRotations(theta.config());
            assertEquals((float) Math.cos(1 / Math.pow(500000, 0.25)), r[64 + 2 * 8 + 2], 1e-7f);
            int[] tokens = hf.tokenizer().encode(PROMPTS.get(0));
            assertTrue(maxDifference(lastLogits(hf, tokens), lastLogits(theta, tokens)) > 1e-3f,
                    "another RoPE base must change the logits");
        }
    }

    @Test
    void aMissingConfigKeyIsNamed() throws IOException {
        Path dir = export("no-hidden-size", "F32", 1, c -> c.remove("hidden_size"), t -> { });
        assertRefused(dir, "config.json lacks the key hidden_size");
    }

    @Test
    void anotherModelTypeIsRefused() throws IOException {
        Path dir = export("mistral", "F32", 1, c -> c.put("model_type", "mistral"), t -> { });
        assertRefused(dir, "model_type 'mistral'; only 'llama' is supported");
    }

    @Test
    void anUnsupportedDtypeIsNamed() throws IOException {
        assertRefused(export("i16", "I16", 1, c -> { }, t -> { }), "tensor model.embed_tokens.weight has dtype I16");
    }

    @Test
    void aMissingTensorIsNamed() throws IOException {
        Path dir = export("no-k-proj", "F32", 1, c -> { }, t -> t.remove("model.layers.3.self_attn.k_proj.weight"));
        assertRefused(dir, "tensor model.layers.3.self_attn.k_proj.weight is missing");
    }

    @Test
    void aMissingLmHeadIsNamedWhenUntied() throws IOException {
        Path dir = export("no-lm-head", "F32", 1, c -> c.put("tie_word_embeddings", false),
                t -> t.remove("lm_head.weight"));
        assertRefused(dir, "tensor lm_head.weight is missing");
    }

    @Test
    void aShapeMismatchNamesTensorExpectedAndGot() throws IOException {
        Path dir = export("bad-shape", "F32", 1, c -> { }, t -> {
            HfExport.Tensor up = t.get("model.layers.0.mlp.up_proj.weight");
            t.put("model.layers.0.mlp.up_proj.weight", new HfExport.Tensor(new long[] {64, 172}, up.data()));
        });
        assertRefused(dir, "tensor model.layers.0.mlp.up_proj.weight has shape [64, 172], expected [172, 64]");
    }

    @Test
    void aMissingWeightFileIsNamed() throws IOException {
        Path dir = export("no-weights", "F32", 1, c -> { }, t -> { });
        Files.delete(dir.resolve("model.safetensors"));
        assertRefused(dir, "holds neither model.safetensors nor model.safetensors.index.json");
    }

    private static void assertRefused(Path dir, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LlamaModel.load(dir, DeviceChoice.CPU));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    /** Exports stories260K under {@code exports/name}, after letting the test edit the config and the tensors. */
    private static Path export(String name, String dtype, int shards, Consumer<ObjectNode> editConfig,
            Consumer<Map<String, HfExport.Tensor>> editTensors) throws IOException {
        return HfExport.export(weights, exports.resolve(name), dtype, shards, TestModel.dir().resolve("tokenizer.json"),
                editConfig, editTensors);
    }

    /** One causal prefill of {@code tokens}; the logits of the last position. */
    static float[] lastLogits(LlamaModel model, int[] tokens) {
        int t = tokens.length;
        try (NDManager step = model.manager().newSubManager()) {
            step.tempAttachAll(model.longLived().toArray(new NDArray[0]));
            KvCache cache = new KvCache(step, model.config(), 1, t);
            float[] causal = new float[t * t];
            for (int i = 0; i < t; i++) {
                Arrays.fill(causal, i * t + i + 1, (i + 1) * t, LlamaModel.MASKED);
            }
            return model.forward(step.create(Arrays.stream(tokens).asLongStream().toArray(), new Shape(1, t)),
                    step.arange(0L, (long) t).reshape(1, t), step.create(causal, new Shape(t, t)), cache, 0)
                    .toFloatArray();
        }
    }

    private static float maxDifference(float[] a, float[] b) {
        float worst = 0f;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
