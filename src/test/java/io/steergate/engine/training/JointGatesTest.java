package io.steergate.engine.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.eval.PromptSets;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SiteSpec;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.engine.training.InterventionMethod.Request;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * LinEAS with token gates trained jointly (end-to-end DSAS) on stories260K's no-dogs prompts, the target prompts as
 * the control set: the gates come back in the maps, the control term keeps the control prompts in place, the gates
 * open more on the source than on the control prompts.
 */
class JointGatesTest {

    private static LlamaModel model;
    private static List<String> dogs;
    private static List<String> cats;
    private static List<HookSite> sites;
    private static LineasFit weak;
    private static LineasFit strong;

    @BeforeAll
    static void train() throws IOException {
        model = TestModel.load();
        PromptSets noDogs = PromptSets.load(Path.of("policies/prompts"), "no-dogs");
        dogs = noDogs.source().texts();
        cats = noDogs.target().texts();
        sites = SiteSpec.parse("layers.3-4.attn_out,layers.3-4.mlp_out", model.config().nLayers());
        LineasOptions options = LineasOptions.of("no-dogs", "dogs", sites)
                .with(s -> s.withSteps(60).withLearningRate(3e-2).withBatchSize(16));
        weak = Lineas.train(model, dogs, cats, options, new JointGates(cats, 1e-4), p -> { }, () -> false,
                () -> { });
        strong = Lineas.train(model, dogs, cats, options, new JointGates(cats, 10), p -> { }, () -> false,
                () -> { });
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void everyMapComesBackGatedAndReadsBackFromItsFile() {
        for (LineasFit fit : List.of(weak, strong)) {
            assertEquals(sites.size(), fit.intervention().maps().size());
            for (AffineMap map : fit.intervention().maps().values()) {
                assertNotNull(map.gate());
                assertTrue(Float.isFinite(map.gateBias()));
            }
            assertEquals(0, fit.skippedSteps());
        }
        Intervention read = InterventionFile.read(InterventionFile.write(strong.intervention()), model.config(),
                model.fingerprint());
        assertEquals(strong.intervention(), read);
        Map<String, String> metadata = strong.intervention().metadata();
        assertTrue(metadata.get("hyperparameters").contains("\"gates\":\"joint\""), metadata.toString());
        assertTrue(metadata.get("hyperparameters").contains("\"controlWeight\":\"10.0\""), metadata.toString());
        assertTrue(metadata.get("hyperparameters").contains("\"controlSha256\":\"" + PromptSet.sha256Of(cats) + "\""),
                metadata.toString());
        // the provenance the registry shows stays exactly {source, target}
        assertEquals(CausalFit.trainingData(PromptSet.sha256Of(dogs), PromptSet.sha256Of(cats)),
                metadata.get("training_data_sha256"));
    }

    @Test
    void aHeavierControlTermMovesTheControlPromptsLess() {
        double weakMove = controlDisplacement(weak.intervention());
        double strongMove = controlDisplacement(strong.intervention());
        System.out.printf("control prompts' squared displacement at strength 1: %.3g (weight 1e-4), %.3g (10)%n",
                weakMove, strongMove);
        assertTrue(strongMove < weakMove / 2, weakMove + " -> " + strongMove);
        // the distributional term still moves the source prompts towards the target
        assertTrue(strong.w1().train() < strong.w1().trainBefore(), strong.w1().toString());
    }

    @Test
    void theGatesOpenWiderOnTheSourcePromptsThanOnTheControlPrompts() {
        double onDogs = mean(TokenGates.openness(model, strong.intervention(), dogs, 1.0));
        double onCats = mean(TokenGates.openness(model, strong.intervention(), cats, 1.0));
        System.out.printf("mean gate: %.3f on the source prompts, %.3f on the control prompts%n", onDogs, onCats);
        assertTrue(onDogs > onCats, onDogs + " vs " + onCats);
    }

    /**
     * Reproducible to float rounding, not bit for bit as LinEAS alone is: in a JVM that had run other test classes
     * first, two identical gated fits differed in the last bits once (not found why; the same fits run alone agree to
     * the bit), so this compares with a tolerance far below what another seed changes.
     */
    @Test
    void theSameSeedGivesTheSameGatedMapsAnotherSeedOthers() {
        LineasOptions options = LineasOptions.of("seeded", "dogs", sites.subList(0, 1))
                .with(s -> s.withSteps(3).withBatchSize(8).withSeed(4));
        JointGates gates = new JointGates(cats.subList(0, 8), 1);
        AffineMap first = onlyMap(Lineas.train(model, dogs, cats, options, gates, p -> { }, () -> false, () -> { }));
        AffineMap second = onlyMap(Lineas.train(model, dogs, cats, options, gates, p -> { }, () -> false, () -> { }));
        AffineMap reseeded = onlyMap(Lineas.train(model, dogs, cats, options.with(s -> s.withSeed(5)), gates, p -> { },
                () -> false, () -> { }));
        double same = maxDifference(first, second);
        double other = maxDifference(first, reseeded);
        System.out.printf("same seed: max difference %.3g; another seed: %.3g%n", same, other);
        assertTrue(same <= 1e-5, "same seed, max difference " + same);
        assertTrue(other >= 1e-3, "another seed, max difference " + other);
    }

    private static AffineMap onlyMap(LineasFit fit) {
        return fit.intervention().maps().values().iterator().next();
    }

    /** The largest absolute difference between two gated maps' ω, β, gate weights and gate bias. */
    private static double maxDifference(AffineMap a, AffineMap b) {
        double max = Math.abs(a.gateBias() - b.gateBias());
        for (int k = 0; k < a.width(); k++) {
            max = Math.max(max, Math.abs(a.omega()[k] - b.omega()[k]));
            max = Math.max(max, Math.abs(a.beta()[k] - b.beta()[k]));
            max = Math.max(max, Math.abs(a.gate()[k] - b.gate()[k]));
        }
        return max;
    }

    @Test
    void badGateRequestsAreRefusedNamingTheField() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new JointGates(List.of(), 1)).getMessage()
                .startsWith("control:"));
        for (double weight : new double[] {0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertTrue(assertThrows(IllegalArgumentException.class, () -> new JointGates(cats, weight)).getMessage()
                    .startsWith("controlWeight:"));
        }
        // the closed-form methods have no training loop to learn gates in: refused, not silently ungated
        Request request = new Request("md", "dogs", sites, TrainingSettings.DEFAULTS, new JointGates(cats, 1));
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () ->
                InterventionMethods.byWireName("mean-shift").fit(model, dogs, cats, request, p -> { }, () -> false));
        assertTrue(refused.getMessage().startsWith("gates: mean-shift"), refused.getMessage());
    }

    /** Mean over sites, prompts and neurons of the squared move of the control prompts' pooled activations. */
    private static double controlDisplacement(Intervention intervention) {
        ActivationCollector collector = new ActivationCollector(model, 32);
        Map<HookSite, float[][]> clean = collector.collect(cats, sites, null);
        Map<HookSite, float[][]> steered = collector.collect(cats, sites, SteeringPlan.of(intervention, 1.0));
        double sum = 0;
        long count = 0;
        for (HookSite site : sites) {
            float[][] a = clean.get(site);
            float[][] b = steered.get(site);
            for (int i = 0; i < a.length; i++) {
                for (int k = 0; k < a[i].length; k++) {
                    double d = b[i][k] - a[i][k];
                    sum += d * d;
                    count++;
                }
            }
        }
        return sum / count;
    }

    private static double mean(Map<HookSite, Double> values) {
        return values.values().stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    }
}
