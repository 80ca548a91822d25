package io.steergate.engine.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.Completion;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Linear-AcT and mean shift: the worked vector, the guards, equalized counts, and causal fits on stories260K. */
class LinearActTest {

    private static final List<String> DOGS = List.of("The dog ran to the park", "A big dog barked at the cat",
            "Max the dog liked his bone", "The puppy wagged its tail", "The dog and the boy played ball",
            "Spot was a happy dog");
    private static final List<String> CATS = List.of("The cat sat on the mat", "A small cat drank milk",
            "Kitty the cat liked to nap", "The cat chased a mouse");

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
    void workedVectorOfTheSpecification() {
        // docs/steering-methods.md 7
        double[] dim0 = LinearAct.fitNeuron(new double[] {1, 2, 4, 3}, new double[] {10, 14, 12, 20});
        assertEquals(3.2, dim0[0], 1e-12);
        assertEquals(6.0, dim0[1], 1e-12);
        double[] dim1 = LinearAct.fitNeuron(new double[] {0, 5, -1, 2}, new double[] {1, 1.5, .5, 3});
        assertEquals(0.404762, dim1[0], 1e-6);
        assertEquals(0.892857, dim1[1], 1e-6);
        AffineMap map = LinearAct.fitSite(new float[][] {{1, 0}, {2, 5}, {4, -1}, {3, 2}},
                new float[][] {{10, 1}, {14, 1.5f}, {12, .5f}, {20, 3}});
        assertArrayEquals(new float[] {1, -1}, map.lo());
        assertArrayEquals(new float[] {4, 5}, map.hi());
        assertArrayEquals(new float[] {8.25f, 6.0f}, map.apply(new float[] {2.5f, 6.0f}, 0.5), 1e-5f);
    }

    @Test
    void aConstantNeuronGetsTheIdentity() {
        assertArrayEquals(new double[] {1, 0}, LinearAct.fitNeuron(new double[] {2, 2, 2}, new double[] {1, 5, 9}));
        assertThrows(IllegalArgumentException.class,
                () -> LinearAct.fitNeuron(new double[] {1, 2}, new double[] {1, 2, 3}));
    }

    @Test
    void unequalCountsAreEqualizedBySeededSubsampling() {
        List<String> a = CausalFit.subsample(DOGS, 4, new Random(7));
        assertEquals(a, CausalFit.subsample(DOGS, 4, new Random(7)));
        assertEquals(4, a.size());
        assertTrue(DOGS.containsAll(a));
        boolean someSeedIsNotAPrefix = false;
        for (long seed = 0; seed < 10; seed++) {
            someSeedIsNotAPrefix |= !CausalFit.subsample(DOGS, 4, new Random(seed)).equals(DOGS.subList(0, 4));
        }
        assertTrue(someSeedIsNotAPrefix);

        List<HookSite> sites = List.of(HookSite.parse("layers.1.resid"), HookSite.parse("layers.0.resid"));
        FitOptions options = FitOptions.of("no-dogs", "dogs", sites).withSeed(3).withBatchSize(4);
        Fit first = LinearAct.fit(model, DOGS, CATS, options);
        Fit second = LinearAct.fit(model, DOGS, CATS, options);
        assertEquals(first.intervention(), second.intervention());
        assertEquals(4, first.samplesPerSide());
        assertEquals(List.of(HookSite.parse("layers.0.resid"), HookSite.parse("layers.1.resid")), first.sites());
        assertEquals(PromptSet.sha256Of(DOGS), first.sourceSha256());
        assertTrue(first.intervention().metadata().get("training_data_sha256").contains(first.targetSha256()));
        Fit otherSeed = LinearAct.fit(model, DOGS, CATS, options.withSeed(4));
        assertNotEquals(first.intervention(), otherSeed.intervention());
        // a fitted intervention is a valid file for this model
        Intervention read = InterventionFile.read(InterventionFile.write(first.intervention()), model.config(),
                model.fingerprint());
        assertEquals(first.intervention(), read);
    }

    @Test
    void theFitIsCausalAndTheFirstSiteSeesCleanActivations() {
        List<HookSite> sites = List.of(HookSite.parse("layers.0.mlp_out"), HookSite.parse("layers.2.resid"));
        FitOptions options = FitOptions.of("cats", "cats", sites).withBatchSize(3);
        List<String> src = DOGS.subList(0, 4);
        Fit fit = MeanShift.fit(model, src, CATS, options);
        ActivationCollector collector = new ActivationCollector(model, 8);
        // site 1: clean source and target
        HookSite s1 = sites.get(0);
        float[][] x = collector.collect(src, List.of(s1), null).get(s1);
        float[][] y = collector.collect(CATS, List.of(s1), null).get(s1);
        assertArrayEquals(MeanShift.fitSite(x, y).beta(), fit.intervention().maps().get(s1).beta(), 1e-6f);
        // site 2: source through site 1's map, target clean (the default)
        HookSite s2 = sites.get(1);
        Intervention onlyFirst = new Intervention("first", Intervention.MEAN_SHIFT, model.fingerprint(), "",
                java.util.Map.of(), new java.util.TreeMap<>(java.util.Map.of(s1, fit.intervention().maps().get(s1))));
        float[][] x2 = collector.collect(src, List.of(s2), SteeringPlan.of(onlyFirst, 1.0)).get(s2);
        float[][] y2 = collector.collect(CATS, List.of(s2), null).get(s2);
        assertArrayEquals(MeanShift.fitSite(x2, y2).beta(), fit.intervention().maps().get(s2).beta(), 1e-6f);
        // with targets through the earlier maps, site 2 differs
        Fit through = MeanShift.fit(model, src, CATS, options.withTargetsThroughEarlierMaps(true));
        assertArrayEquals(fit.intervention().maps().get(s1).beta(), through.intervention().maps().get(s1).beta());
        assertNotEquals(fit.intervention().maps().get(s2), through.intervention().maps().get(s2));
        // after the full causal fit, the pooled source at site 2 has the target's mean
        float[][] moved = collector.collect(src, List.of(s2), SteeringPlan.of(fit.intervention(), 1.0)).get(s2);
        for (int k = 0; k < 8; k++) {
            double ms = 0;
            double mt = 0;
            for (float[] r : moved) {
                ms += r[k] / moved.length;
            }
            for (float[] r : y2) {
                mt += r[k] / y2.length;
            }
            assertEquals(mt, ms, 1e-4);
        }
    }

    @Test
    void aLastTokenFitEstimatesFromEachPromptsLastTokenAndSaysSo() {
        HookSite site = HookSite.parse("layers.2.resid");
        FitOptions options = FitOptions.of("cats", "cats", List.of(site));
        List<String> src = DOGS.subList(0, 4);
        List<String> dst = CATS.subList(0, 4);
        Fit fit = MeanShift.fit(model, src, dst, options.withPooling(ActivationCollector.Pooling.LAST));

        ActivationCollector last = new ActivationCollector(model, 8, ActivationCollector.Pooling.LAST);
        float[][] x = last.collect(src, List.of(site), null).get(site);
        float[][] y = last.collect(dst, List.of(site), null).get(site);
        assertArrayEquals(MeanShift.fitSite(x, y).beta(), fit.intervention().maps().get(site).beta(), 1e-6f);
        assertTrue(fit.intervention().metadata().get("hyperparameters").contains("\"pooling\":\"last\""),
                fit.intervention().metadata().toString());
        assertFalse(MeanShift.fit(model, src, dst, options).intervention().metadata().get("hyperparameters")
                .contains("pooling"), "mean-pooled fits keep the metadata they always had");
    }

    @Test
    void aLinearActInterventionSteersGeneration() {
        java.util.List<HookSite> sites = new java.util.ArrayList<>();
        for (int l = 0; l < model.config().nLayers(); l++) {
            sites.add(new HookSite(l, io.steergate.engine.model.HookPoint.RESID));
        }
        Fit fit = LinearAct.fit(model, CATS, DOGS, FitOptions.of("dogs", "dogs", sites).withSeed(1));
        assertEquals(Intervention.LINEAR_ACT, fit.intervention().method());
        assertTrue(fit.intervention().maps().values().stream().allMatch(AffineMap::hasSupport));
        Generator generator = new Generator(model);
        GenerationInput row = GenerationInput.greedy("Once upon a time", 40);
        Completion clean = generator.generate(List.of(row)).get(0);
        Completion steered = generator.generate(List.of(row.withSteering(SteeringPlan.of(fit.intervention(), 1.0))))
                .get(0);
        assertNotEquals(clean.text(), steered.text());
        assertEquals(clean, generator.generate(List.of(row.withSteering(SteeringPlan.of(fit.intervention(), 0.0))))
                .get(0));
    }
}
