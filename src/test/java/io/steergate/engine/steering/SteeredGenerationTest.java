package io.steergate.engine.steering;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.steergate.engine.model.Completion;
import io.steergate.engine.model.DecodePath;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.model.PromptBatch;
import io.steergate.engine.model.StaggeredRun;
import io.steergate.engine.model.SteeringBatch;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Steering on the real stories260K: identity maps, folding against sequential stages, mixed-plan batches. */
class SteeredGenerationTest {

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

    @Test
    void identityMapsAtEverySiteGiveTheGoldenTokens() throws IOException {
        int[] golden = golden();
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        for (HookSite site : allSites()) {
            maps.put(site, AffineMap.identity(model.config().dim()));
        }
        SteeringPlan plan = SteeringPlan.of(intervention("identity", maps), 1.0);
        assertEquals(model.config().nLayers() * HookPoint.values().length, plan.stages().size());
        Completion steered = generator.generate(List.of(GenerationInput.greedy("Once upon a time", 64)
                .withSteering(plan))).get(0);
        Completion plain = generator.generate(List.of(GenerationInput.greedy("Once upon a time", 64))).get(0);
        assertEquals(model.tokenizer().decode(378, golden), steered.text());
        assertEquals(plain, steered);
        assertArrayEquals(logits(null, "Once upon a time, a little dog"),
                logits(plan, "Once upon a time, a little dog"));
    }

    @Test
    void foldedCompositionMatchesSequentialStagesOnTheLogits() {
        Random random = new Random(5);
        List<SteeringPlan.Step> steps = new ArrayList<>();
        for (int m = 0; m < 3; m++) {
            steps.add(new SteeringPlan.Step(randomIntervention("m" + m, random, allSites(), 0.1f, 0.05f),
                    0.3 + 0.3 * m));
        }
        SteeringPlan folded = SteeringPlan.compose(steps);
        SteeringPlan sequential = SteeringPlan.sequential(steps);
        assertEquals(1, folded.stages().get(new HookSite(2, HookPoint.RESID)).size());
        assertEquals(3, sequential.stages().get(new HookSite(2, HookPoint.RESID)).size());
        float[] a = logits(folded, "The little dog was very sad");
        float[] b = logits(sequential, "The little dog was very sad");
        float worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        assertTrue(worst <= 1e-4f, "largest logit difference " + worst);
        float[] clean = logits(null, "The little dog was very sad");
        assertTrue(!Arrays.equals(clean, a), "the maps change the logits");
    }

    @ParameterizedTest
    @EnumSource(value = DecodePath.class, names = {"LOOPS", "NDARRAY"})
    void eachRowOfAMixedBatchGeneratesWhatItGeneratesAlone(DecodePath path) {
        Generator generator = new Generator(model, path);
        List<GenerationInput> rows = mixedRows();
        List<Completion> batched = generator.generate(rows);
        for (int b = 0; b < rows.size(); b++) {
            assertEquals(generator.generate(List.of(rows.get(b))).get(0), batched.get(b), "row " + b);
        }
        // the maps do something: the strongly steered row differs from the clean one
        Completion clean = generator.generate(List.of(GenerationInput.greedy("Once upon a time", 30))).get(0);
        assertNotEquals(clean.text(), batched.get(0).text());
    }

    @ParameterizedTest
    @EnumSource(value = DecodePath.class, names = {"LOOPS", "NDARRAY"})
    void eachRowOfAMixedBatchJoiningAtStaggeredStepsGeneratesWhatItGeneratesAlone(DecodePath path) {
        Generator generator = new Generator(model, path);
        List<GenerationInput> rows = mixedRows();
        List<Completion> staggered = StaggeredRun.run(model, path, rows, new int[] {0, 2, 5, 9, 14});
        for (int b = 0; b < rows.size(); b++) {
            assertEquals(generator.generate(List.of(rows.get(b))).get(0), staggered.get(b), "row " + b);
        }
    }

    /** Five rows, four steered differently (one with a support), one sampled. */
    private static List<GenerationInput> mixedRows() {
        Random random = new Random(11);
        List<HookSite> resid = new ArrayList<>();
        for (int l = 0; l < model.config().nLayers(); l++) {
            resid.add(new HookSite(l, HookPoint.RESID));
        }
        Intervention strong = randomIntervention("strong", random, resid, 0.3f, 0.3f);
        Intervention gentle = randomIntervention("gentle", random, List.of(new HookSite(1, HookPoint.ATTN_NORM),
                new HookSite(3, HookPoint.MLP_OUT)), 0.2f, 0.1f);
        Intervention supported = withSupport(randomIntervention("supported", random, allSites(), 0.5f, 0.5f), 0.5f);
        return List.of(
                GenerationInput.greedy("Once upon a time", 30).withSteering(SteeringPlan.of(strong, 1.0)),
                GenerationInput.greedy("Tom and Sue", 25),
                GenerationInput.greedy("The little dog was very sad because his ball was lost", 20)
                        .withSteering(SteeringPlan.compose(List.of(new SteeringPlan.Step(gentle, 0.7),
                                new SteeringPlan.Step(supported, 1.0), new SteeringPlan.Step(strong, 0.5)))),
                GenerationInput.greedy("One day, a bird", 30).withSteering(SteeringPlan.of(supported, 0.8)),
                new GenerationInput("Lily had a cat", 20, 0.9f, 1f, 3L).withSteering(SteeringPlan.of(gentle, 1.0)));
    }

    @Test
    void aMapForAnotherModelOrWidthIsRefusedByTheGenerator() {
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        maps.put(new HookSite(0, HookPoint.RESID), AffineMap.identity(32));
        SteeringPlan wrongWidth = SteeringPlan.of(intervention("narrow", maps), 1.0);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> generator.generate(List.of(GenerationInput.greedy("Hi", 3).withSteering(wrongWidth))));
        assertTrue(e.getMessage().contains("width"), e.getMessage());
    }

    /** Last-position logits of {@code prompt} with {@code plan} applied (null = clean), through forwardPrompts. */
    static float[] logits(SteeringPlan plan, String prompt) {
        try (NDManager step = model.newSubManager()) {
            model.lendWeights(step);
            PromptBatch batch = PromptBatch.of(step, new int[][] {model.tokenizer().encode(prompt)});
            SteeringBatch steered = plan == null ? null
                    : SteeringBatch.build(step, Collections.singletonList(plan), model.config());
            return model.forwardPrompts(batch, steered == null ? null : steered.hooks(), model.config().nLayers())
                    .toFloatArray();
        }
    }

    static List<HookSite> allSites() {
        List<HookSite> sites = new ArrayList<>();
        for (int l = 0; l < model.config().nLayers(); l++) {
            for (HookPoint p : HookPoint.values()) {
                sites.add(new HookSite(l, p));
            }
        }
        return sites;
    }

    static Intervention intervention(String name, TreeMap<HookSite, AffineMap> maps) {
        return new Intervention(name, Intervention.LINEAR_ACT, model.fingerprint(), "", Map.of(), maps);
    }

    /** ω = 1 + omegaScale * N(0,1), β = betaScale * N(0,1) at each site. */
    static Intervention randomIntervention(String name, Random random, List<HookSite> sites, float omegaScale,
            float betaScale) {
        int dim = model.config().dim();
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        for (HookSite site : sites) {
            float[] omega = new float[dim];
            float[] beta = new float[dim];
            for (int i = 0; i < dim; i++) {
                omega[i] = 1 + omegaScale * (float) random.nextGaussian();
                beta[i] = betaScale * (float) random.nextGaussian();
            }
            maps.put(site, AffineMap.of(omega, beta));
        }
        return intervention(name, maps);
    }

    /** The same maps with the support (-half, half) on every neuron. */
    static Intervention withSupport(Intervention i, float half) {
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        i.maps().forEach((site, m) -> {
            float[] lo = new float[m.width()];
            float[] hi = new float[m.width()];
            Arrays.fill(lo, -half);
            Arrays.fill(hi, half);
            maps.put(site, new AffineMap(m.omega(), m.beta(), lo, hi));
        });
        return intervention(i.name(), maps);
    }

    static int[] golden() throws IOException {
        try (InputStream in = SteeredGenerationTest.class.getResourceAsStream(
                "/golden/once-upon-a-time-greedy-64.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(line -> !line.startsWith("#") && !line.isBlank())
                    .flatMap(line -> Arrays.stream(line.trim().split("\\s+")))
                    .mapToInt(Integer::parseInt).toArray();
        }
    }
}
