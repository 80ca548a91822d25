package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.testing.TestModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Batched generation: the golden output, batch independence, sampling, and the stop conditions. */
class GeneratorTest {

    private static LlamaModel model;
    private static Generator generator;

    @BeforeAll
    static void load() throws IOException {
        model = TestModel.load();
        generator = new Generator(model);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @ParameterizedTest
    @EnumSource(value = DecodePath.class, names = {"LOOPS", "NDARRAY"})
    void greedyOnceUponATimeMatchesTheGolden(DecodePath path) throws IOException {
        Generator generator = new Generator(model, path);
        int[] golden = golden("once-upon-a-time-greedy-64.txt");
        ReferenceLlama reference = new ReferenceLlama(TestModel.dir().resolve("stories260K.bin"));
        assertArrayEquals(golden, reference.greedy(model.tokenizer().encode("Once upon a time"), 64));

        Completion completion = generator.generate(List.of(GenerationInput.greedy("Once upon a time", 64))).get(0);
        assertEquals(model.tokenizer().decode(378, golden), completion.text());
        assertTrue(completion.text().startsWith(
                ", there was a little girl named Lily. She loved to play outside in the park."), completion.text());
        assertEquals(new Completion(completion.text(), 5, 64, StopReason.MAX_TOKENS), completion);
    }

    @ParameterizedTest
    @EnumSource(value = DecodePath.class, names = {"LOOPS", "NDARRAY"})
    void aRowInABatchGeneratesWhatItGeneratesAlone(DecodePath path) {
        Generator generator = new Generator(model, path);
        List<GenerationInput> rows = List.of(
                GenerationInput.greedy("Once upon a time", 40),
                GenerationInput.greedy("", 25),
                GenerationInput.greedy("The little dog was very sad because his ball was lost in the tall grass", 33),
                GenerationInput.greedy("Tom and Sue", 7),
                GenerationInput.greedy("One day, a bird", 50));
        List<Completion> batched = generator.generate(rows);
        for (int b = 0; b < rows.size(); b++) {
            assertEquals(generator.generate(List.of(rows.get(b))).get(0), batched.get(b), "row " + b);
        }
        assertEquals(7, batched.get(3).completionTokens());
        assertEquals(StopReason.MAX_TOKENS, batched.get(3).stopReason());
    }

    @Test
    void seededSamplingIsReproducibleAndIndependentOfCompanions() {
        GenerationInput row = new GenerationInput("Once upon a time", 40, 1.0f, 0.9f, 42L);
        Completion alone = generator.generate(List.of(row)).get(0);
        assertEquals(alone, generator.generate(List.of(row)).get(0));
        List<Completion> batched = generator.generate(List.of(
                new GenerationInput("A cat", 30, 0.8f, 1f, 7L), row, GenerationInput.greedy("The sun was hot and", 12)));
        assertEquals(alone, batched.get(1));
        assertNotEquals(alone.text(), generator.generate(List.of(
                new GenerationInput("Once upon a time", 40, 1.0f, 0.9f, 43L))).get(0).text());
    }

    @Test
    void temperatureSpreadsTheSamplesAndTopPNarrowsThem() {
        Set<String> hot = new HashSet<>();
        Set<String> nucleus = new HashSet<>();
        List<GenerationInput> hotRows = new ArrayList<>();
        List<GenerationInput> nucleusRows = new ArrayList<>();
        for (long seed = 0; seed < 8; seed++) {
            hotRows.add(new GenerationInput("Once upon a time", 6, 1.5f, 1f, seed));
            nucleusRows.add(new GenerationInput("Once upon a time", 6, 1.5f, 0.01f, seed));
        }
        generator.generate(hotRows).forEach(c -> hot.add(c.text()));
        generator.generate(nucleusRows).forEach(c -> nucleus.add(c.text()));
        assertTrue(hot.size() > 4, "8 seeds at temperature 1.5 gave only " + hot);
        // a tiny nucleus keeps only the most likely token: every seed gives the greedy text
        String greedy = generator.generate(List.of(GenerationInput.greedy("Once upon a time", 6))).get(0).text();
        assertEquals(Set.of(greedy), nucleus);
    }

    @Test
    void aTemperatureTooSmallForFloatIsGreedyNotNaN() {
        // 5 / 1e-40 overflows float: divided as is, the softmax would be infinity minus infinity everywhere
        assertEquals(0, new Sampler(1e-40f, 0.9f, 1).sample(new float[] {5f, -3f, 0.01f}));
        assertEquals(0, new Sampler(1e-40f, 1f, 1).sample(new float[] {5f, -3f, 0.01f}));
        assertEquals(2, new Sampler(Float.MIN_VALUE, 0.9f, 1).sample(new float[] {-5f, -3f, -0.01f}));
        String greedy = generator.generate(List.of(GenerationInput.greedy("Once upon a time", 6))).get(0).text();
        for (float topP : new float[] {0.9f, 1f}) {
            String tiny = generator.generate(List.of(new GenerationInput("Once upon a time", 6, 1e-40f, topP, 7))).get(0).text();
            assertEquals(greedy, tiny, "temperature 1e-40, topP " + topP);
        }
    }

    @Test
    void logitsThatAreNotFiniteAreRefusedNotSampled() {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            for (float temperature : new float[] {0f, 1f}) {
                IllegalStateException e = assertThrows(IllegalStateException.class,
                        () -> new Sampler(temperature, 0.9f, 1).sample(new float[] {1f, bad, 0.5f}));
                assertTrue(e.getMessage().contains("not finite"), e.getMessage());
            }
        }
    }

    @Test
    void aFlatDistributionUnderATinyNucleusStillGivesItsTopToken() {
        // every probability (0.25) is under the cutoff (1 - topP) / 3 ~ 0.333: the candidate list would be empty
        assertEquals(0, Sampler.sampleTopP(new float[] {0.25f, 0.25f, 0.25f, 0.25f}, Float.MIN_VALUE, 0.5f));
        assertEquals(2, Sampler.sampleTopP(new float[] {0.24f, 0.25f, 0.26f, 0.25f}, 1e-6f, 0.5f));
    }

    @Test
    void topPSamplerKeepsTheNucleus() {
        float[] probs = {0.5f, 0.3f, 0.15f, 0.05f};
        // nucleus 0.7: {0 (0.5), 1 (0.3)}, cumulative 0.8; coin 0.99 -> r 0.792 lands on token 1
        assertEquals(1, Sampler.sampleTopP(probs.clone(), 0.7f, 0.99f));
        assertEquals(0, Sampler.sampleTopP(probs.clone(), 0.7f, 0.0f));
        assertEquals(3, Sampler.sampleMult(probs.clone(), 0.99f));
    }

    @Test
    void promptsTokenizedByTheCallerAreNotTokenizedAgainAndGenerateTheSame() throws IOException {
        try (CountingTokenizer.Counted counted = CountingTokenizer.load(TestModel.dir())) {
            Generator counting = new Generator(counted.model());
            List<GenerationInput> rows = List.of(GenerationInput.greedy("Once upon a time", 16),
                    new GenerationInput("The dog", 16, 0.9f, 0.95f, 7L));
            List<int[]> tokens = rows.stream().map(row -> counting.encodePrompt(row.prompt())).toList();
            assertEquals(List.of("Once upon a time", "The dog"), counted.tokenizer().encoded());

            List<Completion> fromTokens = counting.generate(rows, tokens);

            assertEquals(2, counted.tokenizer().encoded().size(), "generating from tokens tokenized again");
            assertEquals(generator.generate(rows), fromTokens);
            counting.generate(rows);
            assertEquals(4, counted.tokenizer().encoded().size(), "generating from text tokenizes each prompt once");
        }
    }

    @Test
    void aRowNearTheEndOfTheContextStopsWithContextFull() {
        int seqLen = model.config().seqLen();
        String prompt = "Once upon a time" + " there was a dog.".repeat(82);
        int promptTokens = generator.encodePrompt(prompt).length;
        assertTrue(promptTokens > seqLen - 20 && promptTokens < seqLen, "prompt has " + promptTokens + " tokens");
        List<Completion> completions = generator.generate(List.of(
                new GenerationInput(prompt, 100, 1f, 1f, 3L), GenerationInput.greedy("Hi", 3)));
        Completion full = completions.get(0);
        assertEquals(StopReason.CONTEXT_FULL, full.stopReason(), full.toString());
        assertEquals(seqLen - promptTokens, full.completionTokens());
        assertEquals(StopReason.MAX_TOKENS, completions.get(1).stopReason());
    }

    @Test
    void theCheapBoundNeverExceedsTheCountAndMarksWhatCannotFit() {
        for (String prompt : List.of("", "Once upon a time", "Once upon a time" + " there was a dog.".repeat(82),
                "🚀 日本 שלום".repeat(30))) {
            int bound = generator.minPromptTokens(prompt);
            assertTrue(bound >= 1 && bound <= generator.encodePrompt(prompt).length, bound + " for " + prompt);
        }
        // the issue's 8,000-character prompt: refused by the bound, without tokenizing
        assertTrue(generator.minPromptTokens("x".repeat(8000)) >= model.config().seqLen());
    }

    @Test
    void aPromptLongerThanTheContextIsRejected() {
        String prompt = "Once upon a time" + " there was a dog.".repeat(200);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> generator.generate(List.of(GenerationInput.greedy(prompt, 1))));
        assertTrue(e.getMessage().contains("context"), e.getMessage());
    }

    @Test
    void completionsAreValidText() {
        for (Completion c : generator.generate(List.of(
                new GenerationInput("🚀 café", 30, 1.2f, 1f, 11L), new GenerationInput("日本", 30, 1.2f, 1f, 12L)))) {
            assertEquals(c.text(), new String(c.text().getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
            assertTrue(c.completionTokens() <= 30);
        }
    }

    @Test
    void anEmptyBatchGivesNothing() {
        assertEquals(List.of(), generator.generate(List.of()));
    }

    static int[] golden(String name) throws IOException {
        try (InputStream in = GeneratorTest.class.getResourceAsStream("/golden/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(line -> !line.startsWith("#") && !line.isBlank())
                    .flatMap(line -> Arrays.stream(line.trim().split("\\s+")))
                    .mapToInt(Integer::parseInt).toArray();
        }
    }

    /** The loop path takes the rows' stages as they are, so the refusal comes before anything runs. */
    @Test
    void steeringASiteOrWidthTheModelDoesNotHaveIsRefusedByName() {
        int dim = model.config().dim();
        int layers = model.config().nLayers();
        HookStage stage = LoopDecoderTest.stage(new Random(5), dim, false);
        HookStage narrow = LoopDecoderTest.stage(new Random(6), dim - 1, false);
        GenerationInput row = new GenerationInput("Once upon a time", 8, 0f, 1f, 1);
        RowSteering pastTheLastLayer = () -> new TreeMap<>(
                Map.of(SiteHook.index(layers, HookPoint.RESID), List.of(stage)));
        RowSteering beforeTheFirstLayer = () -> new TreeMap<>(Map.of(-1, List.of(stage)));
        RowSteering tooNarrow = () -> new TreeMap<>(
                Map.of(SiteHook.index(2, HookPoint.MLP_OUT), List.of(narrow)));

        IllegalArgumentException beyond = assertThrows(IllegalArgumentException.class,
                () -> generator.generate(List.of(row, row.withSteering(pastTheLastLayer))));
        assertEquals("row 1 steers layer " + layers + "; the model has " + layers + " layers", beyond.getMessage());
        IllegalArgumentException before = assertThrows(IllegalArgumentException.class,
                () -> generator.generate(List.of(row.withSteering(beforeTheFirstLayer))));
        assertEquals("row 0 steers layer -1; the model has " + layers + " layers", before.getMessage());
        IllegalArgumentException width = assertThrows(IllegalArgumentException.class,
                () -> generator.generate(List.of(row.withSteering(tooNarrow))));
        assertEquals("row 0 has a map of width " + (dim - 1) + " at layer 2 mlp_out; the model's width there is " + dim,
                width.getMessage());
    }
}
