package io.steergate.engine.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.eval.PromptSets;
import io.steergate.engine.eval.Wasserstein;
import io.steergate.engine.model.Completion;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** LinEAS on stories260K: the kindness prompts' activations move onto the target's; guards, sparsity, files. */
class LineasTest {

    private static LlamaModel model;
    private static PromptSets kindness;
    private static List<HookSite> resid;
    private static LineasFit fit;

    @BeforeAll
    static void load() throws IOException {
        model = TestModel.load();
        kindness = PromptSets.load(Path.of("policies/prompts"), "kindness");
        resid = new ArrayList<>();
        for (int l = 0; l < model.config().nLayers(); l++) {
            resid.add(new HookSite(l, HookPoint.RESID));
        }
        fit = Lineas.train(model, kindness.source().texts(), kindness.target().texts(),
                LineasOptions.of("kindness", "kindness", resid).with(s -> s.withSteps(100)));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void theLossFallsAndTheSourceMovesOntoTheTarget() {
        double drop = 1 - fit.finalLoss() / fit.initialLoss();
        ActivationCollector collector = new ActivationCollector(model, 32);
        List<String> src = kindness.source().texts();
        Map<HookSite, float[][]> before = collector.collect(src, resid, null);
        Map<HookSite, float[][]> after = collector.collect(src, resid, SteeringPlan.of(fit.intervention(), 1.0));
        Map<HookSite, float[][]> target = collector.collect(kindness.target().texts(), resid, null);
        double w0 = 0;
        double w1 = 0;
        for (HookSite site : resid) {
            w0 += Wasserstein.siteMean(before.get(site), target.get(site)) / resid.size();
            w1 += Wasserstein.siteMean(after.get(site), target.get(site)) / resid.size();
        }
        System.out.printf("loss %.5f -> %.5f (drop %.1f%%), W1 %.5f -> %.5f (ratio %.3f), %d ms%n",
                fit.initialLoss(), fit.finalLoss(), 100 * drop, w0, w1, w1 / w0, fit.trainMillis());
        assertTrue(drop >= 0.6, "loss drop " + drop);
        assertTrue(w1 <= 0.75 * w0, "W1 " + w0 + " -> " + w1);
        assertEquals(0, fit.skippedSteps());
        // the fit reports the same train W1; without a split nothing is held out and the last maps come back
        assertEquals(w0, fit.w1().trainBefore(), 1e-7);
        assertEquals(w1, fit.w1().train(), 1e-7);
        assertEquals(0, fit.w1().heldOutPrompts());
        assertTrue(Double.isNaN(fit.w1().heldOut()));
        assertEquals(100, fit.w1().mapsStep());
        assertFalse(fit.w1().stoppedEarly());
    }

    @Test
    void heldOutPromptsOnlyMeasureTheyNeverTrain() {
        List<String> src = kindness.source().texts();
        List<String> dst = kindness.target().texts();
        LineasOptions options = small("held").with(s -> s.withSteps(12).withSeed(3).withHeldOut(0.25));
        List<Double> checks = new ArrayList<>();
        LineasFit held = Lineas.train(model, src, dst, options, p -> checks.add(p.heldOutW1()), () -> false);
        // the split the fit made, redrawn: source first, then target, from one Random of the seed
        Random random = new Random(3);
        HeldOutSplit srcSplit = HeldOutSplit.of(src, 0.25, random);
        HeldOutSplit dstSplit = HeldOutSplit.of(dst, 0.25, random);
        assertEquals(14, held.w1().heldOutPrompts());
        // the same maps as a fit given only the training parts: the held-out prompts never reached a gradient
        LineasFit trainOnly = Lineas.train(model, srcSplit.train(), dstSplit.train(),
                options.with(s -> s.withHeldOut(0)));
        assertEquals(trainOnly.intervention().maps(), held.intervention().maps());
        assertArrayEquals(trainOnly.lossHistory(), held.lossHistory());
        // reported W1 = W1 measured independently: held-out sources before and after against the training targets,
        // and the floor, the held-out targets against the training targets
        ActivationCollector collector = new ActivationCollector(model, 32);
        Map<HookSite, float[][]> target = collector.collect(dstSplit.train(), resid, null);
        double before = meanW1(collector.collect(srcSplit.heldOut(), resid, null), target);
        double after = meanW1(collector.collect(srcSplit.heldOut(), resid,
                SteeringPlan.of(held.intervention(), 1.0)), target);
        assertEquals(before, held.w1().heldOutBefore(), 1e-7);
        assertEquals(after, held.w1().heldOut(), 1e-7);
        assertEquals(meanW1(collector.collect(dstSplit.heldOut(), resid, null), target), held.w1().heldOutFloor(),
                1e-7);
        // checked after steps 10 and 12 (the last) only; patience 0 keeps the last maps
        assertEquals(12, checks.size());
        for (int i = 0; i < checks.size(); i++) {
            assertEquals(i + 1 == 10 || i + 1 == 12, !Double.isNaN(checks.get(i)), "step " + (i + 1));
        }
        assertEquals(after, checks.get(11), 1e-7);
        assertEquals(12, held.w1().mapsStep());
        assertFalse(held.w1().stoppedEarly());
        assertTrue(held.intervention().metadata().get("hyperparameters").contains("\"heldOut\":\"0.25\""));
    }

    @Test
    void aLastTokenFitTrainsOnEachPromptsLastTokenAndSaysSo() {
        LineasOptions options = small("last").with(s -> s.withSteps(2));
        List<String> source = kindness.source().texts();
        List<String> target = kindness.target().texts();
        LineasFit last = Lineas.train(model, source, target,
                options.with(s -> s.withPooling(ActivationCollector.Pooling.LAST)));
        LineasFit mean = Lineas.train(model, source, target, options);

        // step 0's W1 is the clean sources against the clean targets, each pooled as the fit pools them
        ActivationCollector lastTokens = new ActivationCollector(model, 32, ActivationCollector.Pooling.LAST);
        assertEquals(meanW1(lastTokens.collect(source, options.sites(), null),
                lastTokens.collect(target, options.sites(), null)), last.w1().trainBefore(), 1e-6);
        assertNotEquals(mean.w1().trainBefore(), last.w1().trainBefore());
        assertTrue(last.intervention().metadata().get("hyperparameters").contains("\"pooling\":\"last\""));
        assertFalse(mean.intervention().metadata().get("hyperparameters").contains("pooling"));
    }

    @Test
    void atOneSiteTheInputsReadOnceTrainTheMapsAForwardAtEveryStepTrains() {
        List<String> source = kindness.source().texts();
        List<String> target = kindness.target().texts();
        for (ActivationCollector.Pooling pooling : ActivationCollector.Pooling.values()) {
            LineasOptions options = LineasOptions.of("one", "kindness", List.of(resid.get(2)))
                    .with(s -> s.withSteps(30).withSeed(2).withPooling(pooling));
            LineasFit read = Lineas.run(model, source, target, options, null, p -> { }, () -> false,
                    (step, gw, gb) -> { }, false);
            LineasFit forward = Lineas.run(model, source, target, options, null, p -> { }, () -> false,
                    (step, gw, gb) -> { }, true);
            // the same losses step by step and the same maps, up to the float rounding of differently padded batches
            assertArrayEquals(forward.lossHistory(), read.lossHistory(), 1e-5 * forward.initialLoss(), pooling.name());
            AffineMap expected = forward.intervention().maps().get(resid.get(2));
            AffineMap actual = read.intervention().maps().get(resid.get(2));
            assertArrayEquals(expected.omega(), actual.omega(), 1e-4f, pooling.name());
            assertArrayEquals(expected.beta(), actual.beta(), 1e-4f, pooling.name());
            assertTrue(read.finalLoss() < 0.8 * read.initialLoss(), pooling + ": the maps moved");
            // what a caller gets: one site reads its inputs once
            assertEquals(read.intervention().maps(),
                    Lineas.train(model, source, target, options).intervention().maps(), pooling.name());
        }
        assertThrows(IllegalArgumentException.class, () -> Lineas.run(model, source, target, small("two"), null,
                p -> { }, () -> false, (step, gw, gb) -> { }, false));
    }

    @Test
    void whenHeldOutW1OnlyGetsWorseTheFitStopsAfterThePatienceAndReturnsTheIdentity() {
        LineasOptions options = small("worse")
                .with(s -> s.withSteps(100).withSeed(3).withHeldOut(0.25).withPatience(20));
        List<Double> checks = new ArrayList<>();
        // every gradient says "raise every scale and shift": the maps drift away from the target
        LineasFit fit = Lineas.run(model, kindness.source().texts(), kindness.target().texts(), options,
                null, p -> checks.add(p.heldOutW1()), () -> false, (step, gw, gb) -> {
                    for (int s = 0; s < gw.length; s++) {
                        java.util.Arrays.fill(gw[s], -1f);
                        java.util.Arrays.fill(gb[s], -1f);
                    }
                });
        System.out.printf("held-out W1 %.5f, checks %s%n", fit.w1().heldOutBefore(), checks);
        assertTrue(checks.get(9) > fit.w1().heldOutBefore() && checks.get(19) > fit.w1().heldOutBefore(),
                checks.toString());
        assertTrue(fit.w1().stoppedEarly());
        assertEquals(20, fit.stepsRun());
        assertEquals(0, fit.w1().mapsStep());
        assertEquals(fit.w1().heldOutBefore(), fit.w1().heldOut());
        assertEquals(fit.w1().trainBefore(), fit.w1().train(), 1e-7);
        for (AffineMap map : fit.intervention().maps().values()) {
            assertEquals(AffineMap.identity(model.config().dim()), map);
        }
        assertEquals("0", fit.intervention().metadata().get("maps_step"));
    }

    @Test
    void aStepWithANonFiniteGradientIsSkippedAndLeavesTheMapsAsTheyWere() {
        LineasOptions options = small("guard").with(s -> s.withSteps(4));
        // poisoned: step 4's gradient gets a NaN, so its update must not happen
        AtomicInteger reportedSkips = new AtomicInteger();
        LineasFit poisoned = Lineas.run(model, kindness.source().texts(), kindness.target().texts(), options,
                null, p -> reportedSkips.set(p.skipped()), () -> false, (step, gw, gb) -> {
                    if (step == 4) {
                        gw[0][3] = Float.NaN;
                    }
                });
        assertEquals(1, poisoned.skippedSteps());
        assertEquals(1, reportedSkips.get());
        assertEquals(4, poisoned.stepsRun());
        assertEquals("1", poisoned.intervention().metadata().get("skipped_steps"));
        assertAllFinite(poisoned.intervention());
        // the same schedule stopped before step 4: the same maps
        AtomicInteger done = new AtomicInteger();
        LineasFit stopped = Lineas.train(model, kindness.source().texts(), kindness.target().texts(), options,
                p -> done.set(p.step()), () -> done.get() == 3);
        assertEquals(poisoned.intervention().maps(), stopped.intervention().maps());
        // an infinite gradient is caught the same way, at any step
        LineasFit inf = Lineas.run(model, kindness.source().texts(), kindness.target().texts(),
                options.with(s -> s.withSteps(2)), null, p -> { }, () -> false,
                (step, gw, gb) -> gb[1][0] = Float.POSITIVE_INFINITY);
        assertEquals(2, inf.skippedSteps());
        assertEquals(AffineMap.identity(model.config().dim()), inf.intervention().maps().get(resid.get(1)));
    }

    @Test
    void theSameSeedGivesIdenticalMapsAndCancellingStopsEarly() {
        LineasOptions options = small("seeded").with(s -> s.withSteps(6).withSeed(5));
        List<String> src = kindness.source().texts();
        List<String> dst = kindness.target().texts();
        LineasFit first = Lineas.train(model, src, dst, options);
        LineasFit second = Lineas.train(model, src, dst, options);
        assertEquals(first.intervention().maps(), second.intervention().maps());
        assertArrayEquals(first.lossHistory(), second.lossHistory());
        assertNotEquals(first.intervention().maps(), Lineas.train(model, src, dst, options.with(s -> s.withSeed(6)))
                .intervention().maps());
        assertFalse(first.cancelled());

        AtomicInteger steps = new AtomicInteger();
        LineasFit cancelled = Lineas.train(model, src, dst, options.with(s -> s.withSteps(1000)),
                p -> steps.set(p.step()), () -> steps.get() >= 2);
        assertTrue(cancelled.cancelled());
        assertEquals(2, cancelled.stepsRun());
        assertEquals("true", cancelled.intervention().metadata().get("cancelled"));
        assertAllFinite(cancelled.intervention());
    }

    @Test
    void aLargeL1WeightReturnsNeuronsExactlyToTheIdentity() {
        LineasFit plain = Lineas.train(model, kindness.source().texts(), kindness.target().texts(),
                small("plain").with(s -> s.withSteps(30)));
        LineasFit sparse = Lineas.train(model, kindness.source().texts(), kindness.target().texts(),
                small("sparse").with(s -> s.withSteps(30).withL1(0.75)));
        int total = resid.size() * model.config().dim();
        int plainIdentity = exactIdentityNeurons(plain.intervention());
        int sparseIdentity = exactIdentityNeurons(sparse.intervention());
        System.out.printf("exact-identity neurons: %d without L1, %d with l1=0.75, of %d%n", plainIdentity,
                sparseIdentity, total);
        assertTrue(sparseIdentity >= total / 2, sparseIdentity + " of " + total);
        assertTrue(sparseIdentity > plainIdentity);
    }

    @Test
    void aLargeGroupWeightReturnsWholeSitesToTheIdentity() {
        AtomicInteger activeSites = new AtomicInteger();
        LineasFit grouped = Lineas.train(model, kindness.source().texts(), kindness.target().texts(),
                small("grouped").with(s -> s.withSteps(30).withGroupLasso(0.7)), p -> activeSites.set(p.activeSites()),
                () -> false);
        int identitySites = 0;
        for (AffineMap map : grouped.intervention().maps().values()) {
            identitySites += map.equals(AffineMap.identity(model.config().dim())) ? 1 : 0;
        }
        System.out.printf("group 0.7: %d of %d sites exactly the identity, %d active%n", identitySites,
                resid.size(), activeSites.get());
        assertTrue(identitySites >= 1);
        // active counts |ω−1| or |β| above 1e-5, so a site can be inactive without being exactly the identity
        assertTrue(activeSites.get() <= resid.size() - identitySites);
    }

    @Test
    void theFittedInterventionRoundTripsThroughItsFileAndSteersGeneration() {
        Intervention trained = fit.intervention();
        assertEquals(Intervention.LINEAS, trained.method());
        assertTrue(trained.maps().values().stream().noneMatch(AffineMap::hasSupport));
        assertTrue(trained.metadata().get("hyperparameters").contains("\"lr\":\"0.01\""));
        assertTrue(trained.metadata().get("training_data_sha256").contains(fit.sourceSha256()));
        assertAllFinite(trained);
        Intervention read = InterventionFile.read(InterventionFile.write(trained), model.config(),
                model.fingerprint());
        assertEquals(trained, read);

        Generator generator = new Generator(model);
        GenerationInput row = GenerationInput.greedy("Once upon a time", 40);
        Completion clean = generator.generate(List.of(row)).get(0);
        Completion steered = generator.generate(List.of(row.withSteering(SteeringPlan.of(read, 1.0)))).get(0);
        assertNotEquals(clean.text(), steered.text());
    }

    @Test
    void badInputsAreRefused() {
        List<String> three = kindness.source().texts().subList(0, 3);
        assertThrows(IllegalArgumentException.class,
                () -> Lineas.train(model, three, kindness.target().texts(), small("few")));
        assertThrows(IllegalArgumentException.class, () -> small("tiny").with(s -> s.withBatchSize(3)));
        assertThrows(IllegalArgumentException.class, () -> Lineas.train(model, kindness.source().texts(),
                kindness.target().texts(), LineasOptions.of("far", "", List.of(HookSite.parse("layers.9.resid")))));
    }

    /** All five resid sites, batches of 16: quick runs for the behaviour tests. */
    @Test
    void theGroupStepInAdamsMetricDividesEachGroupsWeightByItsMeanAdamDenominatorAndSaysSo() {
        // v = (4e-4, 0) after one update: v / (1 - 0.9) = (4e-3, 0), sqrt + 1e-8 = (0.0632456, 1e-8), mean 0.0316228
        assertEquals(0.0316228, Lineas.meanAdamDenominator(new double[] {4e-4, 0}, 1), 1e-7);
        // after many updates the bias correction is gone: sqrt(v) + eps
        assertEquals(0.02 + 1e-8, Lineas.meanAdamDenominator(new double[] {4e-4, 4e-4}, 10_000), 1e-12);

        LineasOptions options = small("metric").with(s -> s.withSteps(3));
        LineasFit lr = Lineas.train(model, kindness.source().texts(), kindness.target().texts(),
                options.with(s -> s.withGroupLasso(0.05)));
        LineasFit adam = Lineas.train(model, kindness.source().texts(), kindness.target().texts(),
                options.with(s -> s.withGroupLasso(0.05).withProxMetric(Proximal.Metric.ADAM)));
        assertNotEquals(lr.intervention().maps(), adam.intervention().maps());
        assertTrue(adam.intervention().metadata().get("hyperparameters").contains("\"proxMetric\":\"adam\""));
        assertFalse(lr.intervention().metadata().get("hyperparameters").contains("proxMetric"),
                "the paper's metric keeps the metadata maps always had");
        // without a group weight the metric changes nothing
        assertEquals(Lineas.train(model, kindness.source().texts(), kindness.target().texts(), options).intervention()
                .maps(), Lineas.train(model, kindness.source().texts(), kindness.target().texts(),
                        options.with(s -> s.withProxMetric(Proximal.Metric.ADAM))).intervention().maps());
    }

    @Test
    void theRelativeMetricAlsoDividesEachBetaGroupsWeightByItsSitesActivationSpread() {
        // neuron 0: 1, 3 (mean 2, variance 1); neuron 1: 2, 6 (mean 4, variance 4); sqrt((1 + 4) / 2)
        assertEquals(Math.sqrt(2.5), Lineas.spread(new float[][] {{1, 2}, {3, 6}}), 1e-12);
        assertEquals(0.0, Lineas.spread(new float[][] {{5, -1}, {5, -1}, {5, -1}}), 0.0);

        // a weight Adam's metric leaves every site active at (larger ones zero every group within three steps)
        LineasOptions options = small("relative").with(s -> s.withSteps(3).withGroupLasso(1e-4));
        LineasFit adam = Lineas.train(model, kindness.source().texts(), kindness.target().texts(),
                options.with(s -> s.withProxMetric(Proximal.Metric.ADAM)));
        LineasFit relative = Lineas.train(model, kindness.source().texts(), kindness.target().texts(),
                options.with(s -> s.withProxMetric(Proximal.Metric.ADAM_RELATIVE)));
        for (HookSite site : resid) {
            assertNotEquals(AffineMap.identity(64), adam.intervention().maps().get(site), site.name());
        }
        assertNotEquals(adam.intervention().maps(), relative.intervention().maps());
        assertTrue(relative.intervention().metadata().get("hyperparameters")
                .contains("\"proxMetric\":\"adam-relative\""));
        // the sources collected at every site for the spreads give the same W1 before, at every site or the last only
        assertEquals(adam.w1().trainBefore(), relative.w1().trainBefore(), 0.0);
        LineasOptions last = options.with(s -> s.withSteps(1).withLastSiteLoss(true));
        assertEquals(Lineas.train(model, kindness.source().texts(), kindness.target().texts(),
                last.with(s -> s.withProxMetric(Proximal.Metric.ADAM))).w1().trainBefore(),
                Lineas.train(model, kindness.source().texts(), kindness.target().texts(),
                        last.with(s -> s.withProxMetric(Proximal.Metric.ADAM_RELATIVE))).w1().trainBefore(), 0.0);
        // without a group weight it changes nothing either
        assertEquals(Lineas.train(model, kindness.source().texts(), kindness.target().texts(),
                options.with(s -> s.withGroupLasso(0).withProxMetric(Proximal.Metric.ADAM))).intervention().maps(),
                Lineas.train(model, kindness.source().texts(), kindness.target().texts(),
                        options.with(s -> s.withGroupLasso(0).withProxMetric(Proximal.Metric.ADAM_RELATIVE)))
                        .intervention().maps());
    }

    @Test
    void withTheLossAtTheLastSiteEarlierMapsTrainThroughItAndTheStartIsThatSitesAlone() {
        List<String> source = kindness.source().texts();
        List<String> target = kindness.target().texts();
        HookSite earlier = resid.get(3);
        HookSite last = resid.get(4);
        LineasOptions two = LineasOptions.of("ls", "kindness", List.of(earlier, last))
                .with(s -> s.withBatchSize(16).withSteps(3));
        LineasOptions one = LineasOptions.of("ls", "kindness", List.of(last))
                .with(s -> s.withBatchSize(16).withSteps(3));
        LineasFit lastSiteLoss = Lineas.train(model, source, target, two.with(s -> s.withLastSiteLoss(true)));
        LineasFit everySite = Lineas.train(model, source, target, two);
        LineasFit alone = Lineas.train(model, source, target, one);

        // the first step's loss is taken before its update, with identity maps (x * 1 + 0 == x): at the last site only
        // it is the loss a fit of that site alone starts from, on the same batch; so is the W1 it reports
        assertEquals(alone.initialLoss(), lastSiteLoss.initialLoss(), 1e-6);
        assertNotEquals(everySite.initialLoss(), lastSiteLoss.initialLoss(), 1e-6);
        assertEquals(alone.w1().trainBefore(), lastSiteLoss.w1().trainBefore(), 1e-9);
        // the earlier map has no loss of its own and still moves: through its effect at the last site
        AffineMap earlierMap = lastSiteLoss.intervention().maps().get(earlier);
        assertNotEquals(AffineMap.identity(earlierMap.width()), earlierMap);
        assertNotEquals(everySite.intervention().maps().get(earlier), earlierMap);
        assertTrue(lastSiteLoss.intervention().metadata().get("hyperparameters").contains("\"lossSites\":\"last\""));
        assertFalse(everySite.intervention().metadata().get("hyperparameters").contains("lossSites"));
        // at one site the last site is every site: the same maps
        assertEquals(alone.intervention().maps(),
                Lineas.train(model, source, target, one.with(s -> s.withLastSiteLoss(true))).intervention().maps());
    }

    private static LineasOptions small(String name) {
        return LineasOptions.of(name, "kindness", resid).with(s -> s.withBatchSize(16));
    }

    private static double meanW1(Map<HookSite, float[][]> a, Map<HookSite, float[][]> b) {
        double sum = 0;
        for (HookSite site : resid) {
            sum += Wasserstein.siteMean(a.get(site), b.get(site)) / resid.size();
        }
        return sum;
    }

    private static int exactIdentityNeurons(Intervention intervention) {
        int n = 0;
        for (AffineMap map : intervention.maps().values()) {
            for (int k = 0; k < map.width(); k++) {
                n += map.omega()[k] == 1f && map.beta()[k] == 0f ? 1 : 0;
            }
        }
        return n;
    }

    private static void assertAllFinite(Intervention intervention) {
        for (AffineMap map : intervention.maps().values()) {
            for (int k = 0; k < map.width(); k++) {
                assertTrue(Float.isFinite(map.omega()[k]) && Float.isFinite(map.beta()[k]));
            }
        }
    }
}
