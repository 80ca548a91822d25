package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Llama 3.x config.json (rope_theta 500000, rope_scaling of type llama3, tied embeddings, and the other keys
 * Llama 3.2's config carries) on stories260K exported as a Hugging Face directory: its RoPE frequencies against
 * transformers' formula transcribed independently ({@link RopeScalingTest#transformersLlama3}) and by hand, and its
 * logits and greedy tokens against the scalar reference fed those same frequencies.
 */
class HfLlama3ConfigTest {

    /**
     * The scaling of a 256-position pretraining context stretched to stories260K's 512 (factor 2), with the bands
     * chosen so that the 4 pairs of a head of 8 fall in all three: wavelengths 6.3 (below 256 / 8: kept), 167
     * (between: interpolated), 4443 and 118143 (above 256 / 1: divided by 2).
     */
    static final double THETA = 500000;
    static final double FACTOR = 2;
    static final double LOW_FREQ_FACTOR = 1;
    static final double HIGH_FREQ_FACTOR = 8;
    static final int ORIGINAL_MAX = 256;
    static final double[] INV_FREQ = RopeScalingTest.transformersLlama3(THETA, 8, FACTOR, LOW_FREQ_FACTOR,
            HIGH_FREQ_FACTOR, ORIGINAL_MAX);

    static final String PROMPT = "Once upon a time, a little dog and a big cat went to the park to play with a ball.";

    @TempDir
    static Path exports;

    private static ReferenceLlama weights;
    private static LlamaModel llama3;

    @BeforeAll
    static void load() throws IOException {
        weights = new ReferenceLlama(TestModel.dir().resolve("stories260K.bin"));
        llama3 = LlamaModel.load(export("llama3", HfLlama3ConfigTest::llama3Config, t -> { }), DeviceChoice.CPU);
    }

    @AfterAll
    static void close() {
        llama3.close();
    }

    /** The keys of Llama 3.2 1B's config.json, with stories260K's sizes and this test's scaling. */
    static void llama3Config(ObjectNode c) {
        c.put("attention_bias", false);
        c.put("attention_dropout", 0.0);
        c.putArray("eos_token_id").add(2);
        c.put("head_dim", 8);
        c.put("initializer_range", 0.02);
        c.put("mlp_bias", false);
        c.put("pretraining_tp", 1);
        c.put("rope_theta", THETA);
        c.set("rope_scaling", llama3Scaling());
        c.put("tie_word_embeddings", true);
        c.put("transformers_version", "4.45.0.dev0");
        c.put("use_cache", true);
    }

    static ObjectNode llama3Scaling() {
        ObjectNode s = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        s.put("factor", FACTOR);
        s.put("high_freq_factor", HIGH_FREQ_FACTOR);
        s.put("low_freq_factor", LOW_FREQ_FACTOR);
        s.put("original_max_position_embeddings", ORIGINAL_MAX);
        s.put("rope_type", "llama3");
        return s;
    }

    @Test
    void theConfigCarriesRopeThetaTheLlama3ScalingAndTiedEmbeddings() {
        LlamaConfig c = llama3.config();
        assertEquals(500000f, c.ropeTheta());
        assertEquals(RopeScaling.llama3(FACTOR, LOW_FREQ_FACTOR, HIGH_FREQ_FACTOR, ORIGINAL_MAX), c.ropeScaling());
        assertTrue(c.sharedClassifier());
        double[] actual = c.ropeInverseFrequencies();
        for (int j = 0; j < INV_FREQ.length; j++) {
            assertEquals(INV_FREQ[j], actual[j], 1e-12 * INV_FREQ[j], "pair " + j);
        }
        // by hand: pair 0 kept (1); pair 1: 500000^(-1/4) = 0.037606031, wavelength 167.079 in [32, 256], smooth =
        // (256 / 167.079 - 1) / 7 = 0.0760538, (1 - 0.0760538) * 0.037606031 / 2 + 0.0760538 * 0.037606031 =
        // 0.020232602; pair 2: 500000^(-1/2) / 2 = 0.00070710678; pair 3: 500000^(-3/4) / 2 = 0.000026591479
        assertEquals(1.0, actual[0], 0);
        assertEquals(0.020232602, actual[1], 1e-9);
        assertEquals(0.00070710678, actual[2], 1e-11);
        assertEquals(0.000026591479, actual[3], 1e-12);
        // the forward's rotation of position 300 turns pair 1 by 300 * 0.020232602: its (2, 2) entry is the cosine
        float[] r = LlamaModel.ropeRotations(c);
        assertEquals((float) Math.cos(300 * INV_FREQ[1]), r[300 * 64 + 2 * 8 + 2], 1e-6f);
    }

    @Test
    void logitsMatchTheScalarReferenceWithTheSameFrequenciesAtEveryPosition() throws IOException {
        ReferenceLlama reference = new ReferenceLlama(TestModel.dir().resolve("stories260K.bin"), INV_FREQ);
        int[] tokens = llama3.tokenizer().encode(PROMPT);
        for (int n = 1; n <= tokens.length; n++) {
            float[] expected = reference.forward(tokens[n - 1], n - 1);
            float[] actual = HfCheckpointTest.lastLogits(llama3, java.util.Arrays.copyOf(tokens, n));
            LlamaModelTest.assertClose(expected, actual, 1e-4f);
        }
    }

    @Test
    void greedyTokensMatchTheScalarReferenceWithTheSameFrequencies() throws IOException {
        ReferenceLlama reference = new ReferenceLlama(TestModel.dir().resolve("stories260K.bin"), INV_FREQ);
        int[] prompt = llama3.tokenizer().encode("Once upon a time");
        int[] expected = reference.greedy(prompt, 200);
        Completion completion = new Generator(llama3).generate(List.of(GenerationInput.greedy("Once upon a time",
                200))).get(0);
        assertEquals(llama3.tokenizer().decode(prompt[prompt.length - 1], expected), completion.text());
        assertEquals(expected.length, completion.completionTokens());
        assertTrue(expected.length > 100, "the story ended after " + expected.length + " tokens");
    }

    @Test
    void theScalingChangesTheLogits() throws IOException {
        Path dir = export("unscaled", c -> {
            llama3Config(c);
            c.remove("rope_scaling");
        }, t -> { });
        try (LlamaModel unscaled = LlamaModel.load(dir, DeviceChoice.CPU)) {
            assertEquals(RopeScaling.NONE, unscaled.config().ropeScaling());
            int[] tokens = llama3.tokenizer().encode(PROMPT);
            float[] scaled = HfCheckpointTest.lastLogits(llama3, tokens);
            float[] plain = HfCheckpointTest.lastLogits(unscaled, tokens);
            float worst = 0f;
            for (int i = 0; i < scaled.length; i++) {
                worst = Math.max(worst, Math.abs(scaled[i] - plain[i]));
            }
            assertTrue(worst > 1e-3f, "the scaling left the logits within " + worst);
        }
    }

    @Test
    void tiedAndUntiedGiveIdenticalLogitsWhenLmHeadIsTheEmbedding() throws IOException {
        // stories260K shares its classifier, so the untied export's lm_head is a copy of embed_tokens
        Path dir = export("untied", c -> {
            llama3Config(c);
            c.put("tie_word_embeddings", false);
        }, t -> assertTrue(t.containsKey(HfCheckpoint.LM_HEAD)));
        try (LlamaModel untied = LlamaModel.load(dir, DeviceChoice.CPU)) {
            assertEquals(false, untied.config().sharedClassifier());
            int[] tokens = llama3.tokenizer().encode(PROMPT);
            assertArrayEquals(HfCheckpointTest.lastLogits(llama3, tokens), HfCheckpointTest.lastLogits(untied, tokens));
        }
    }

    @Test
    void aTiedConfigAcceptsAStoredLmHeadEqualToTheEmbedding() throws IOException {
        Path dir = export("tied-with-lm-head", HfLlama3ConfigTest::llama3Config, t -> t.put(HfCheckpoint.LM_HEAD,
                t.get("model.embed_tokens.weight")));
        try (LlamaModel tied = LlamaModel.load(dir, DeviceChoice.CPU)) {
            assertTrue(tied.config().sharedClassifier());
            int[] tokens = llama3.tokenizer().encode(PROMPT);
            assertArrayEquals(HfCheckpointTest.lastLogits(llama3, tokens), HfCheckpointTest.lastLogits(tied, tokens));
        }
    }

    @Test
    void aTiedConfigRefusesAStoredLmHeadThatDiffers() throws IOException {
        Path dir = export("tied-other-lm-head", HfLlama3ConfigTest::llama3Config, t -> {
            float[] head = t.get("model.embed_tokens.weight").data().clone();
            head[7] += 0.5f;
            t.put(HfCheckpoint.LM_HEAD, new HfExport.Tensor(new long[] {512, 64}, head));
        });
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LlamaModel.load(dir, DeviceChoice.CPU));
        assertTrue(e.getMessage().contains("config.json sets tie_word_embeddings true, but the tensor lm_head.weight "
                + "differs from model.embed_tokens.weight"), e.getMessage());
    }

    @Test
    void transformers5RopeParametersReadLikeRopeThetaAndRopeScaling() {
        ObjectNode c = config(HfLlama3ConfigTest::llama3Config);
        ObjectNode parameters = llama3Scaling().put("rope_theta", THETA);
        c.remove("rope_theta");
        c.remove("rope_scaling");
        c.set("rope_parameters", parameters);
        assertEquals(llama3.config(), HfCheckpoint.config(c));
        // both forms present and agreeing: accepted
        llama3Config(c);
        assertEquals(llama3.config(), HfCheckpoint.config(c));
    }

    @Test
    void linearScalingAndTheOlderKeyTypeAreRead() {
        ObjectNode c = config(HfLlama3ConfigTest::llama3Config);
        c.putObject("rope_scaling").put("type", "linear").put("factor", 4.0);
        assertEquals(RopeScaling.linear(4), HfCheckpoint.config(c).ropeScaling());
        c.putObject("rope_scaling").put("rope_type", "default");
        assertEquals(RopeScaling.NONE, HfCheckpoint.config(c).ropeScaling());
        c.putNull("rope_scaling");
        c.remove("rope_theta");
        assertEquals(LlamaConfig.ROPE_THETA, HfCheckpoint.config(c).ropeTheta());
        assertEquals(RopeScaling.NONE, HfCheckpoint.config(c).ropeScaling());
    }

    @Test
    void otherRopeTypesAreRefusedNamingTheType() {
        assertRefused(c -> c.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0),
                "config.json rope_scaling has rope_type 'yarn'; only 'default', 'linear' and 'llama3' are supported");
        assertRefused(c -> c.putObject("rope_scaling").put("type", "dynamic").put("factor", 2.0),
                "rope_type 'dynamic'");
        assertRefused(c -> c.putObject("rope_scaling").put("factor", 2.0), "rope_scaling must name its rope_type");
    }

    @Test
    void badOrUnknownRopeScalingFieldsAreNamed() {
        assertRefused(c -> ((ObjectNode) c.get("rope_scaling")).put("beta_fast", 32),
                "config.json rope_scaling has the key beta_fast, which rope_type 'llama3' does not take");
        assertRefused(c -> ((ObjectNode) c.get("rope_scaling")).remove("factor"),
                "rope_scaling (rope_type 'llama3') needs factor as a number, got null");
        assertRefused(c -> ((ObjectNode) c.get("rope_scaling")).put("original_max_position_embeddings", 256.5),
                "needs original_max_position_embeddings as an integer, got 256.5");
        assertRefused(c -> ((ObjectNode) c.get("rope_scaling")).put("low_freq_factor", 8.0),
                "config.json rope_scaling: high_freq_factor must be greater than low_freq_factor 8.0");
        assertRefused(c -> ((ObjectNode) c.get("rope_scaling")).put("factor", 0.5),
                "config.json rope_scaling: factor must be a number of at least 1, got 0.5");
        assertRefused(c -> c.put("rope_scaling", "llama3"), "config.json key rope_scaling must be an object");
    }

    @Test
    void contradictoryFieldsAreNamed() {
        assertRefused(c -> ((ObjectNode) c.get("rope_scaling")).put("type", "linear"),
                "config.json rope_scaling sets rope_type \"llama3\" and type \"linear\"; they must agree");
        assertRefused(c -> c.set("rope_parameters", llama3Scaling().put("factor", 4.0)),
                "which contradicts rope_parameters");
        assertRefused(c -> c.set("rope_parameters", llama3Scaling().put("rope_theta", 10000.0)),
                "config.json sets rope_theta 500000.0, which contradicts rope_parameters.rope_theta 10000.0");
        assertRefused(c -> c.put("head_dim", 16), "config.json sets head_dim 16");
    }

    @Test
    void badTopLevelValuesAndUnknownKeysAreNamed() {
        assertRefused(c -> c.put("rope_theta", -1.0), "config.json key rope_theta must be a positive number, got -1.0");
        assertRefused(c -> c.put("tie_word_embeddings", "yes"),
                "config.json key tie_word_embeddings must be true or false, got \"yes\"");
        assertRefused(c -> c.put("sliding_window", 4096),
                "config.json has the key sliding_window, which this loader does not know");
        assertRefused(c -> c.putObject("quantization_config").put("quant_method", "bitsandbytes"),
                "config.json has the key quantization_config");
    }

    private static void assertRefused(Consumer<ObjectNode> edit, String message) {
        ObjectNode c = config(HfLlama3ConfigTest::llama3Config);
        edit.accept(c);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.config(c));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    private static ObjectNode config(Consumer<ObjectNode> edit) {
        ObjectNode c = HfExport.config(weights, true);
        edit.accept(c);
        return c;
    }

    private static Path export(String name, Consumer<ObjectNode> editConfig,
            Consumer<Map<String, HfExport.Tensor>> editTensors) throws IOException {
        return HfExport.export(weights, exports.resolve(name), "F32", 1, TestModel.dir().resolve("tokenizer.json"),
                editConfig, editTensors);
    }
}
