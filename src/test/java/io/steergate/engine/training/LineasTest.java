package io.steergate.engine.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.eval.PromptSets;
import io.steergate.engine.eval.Wasserstein;
import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.HookPoint;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.SteeringPlan;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** LinEAS on stories260K: the kindness prompts' activations move onto the target's; guards, sparsity, files. */
class LineasTest {

    private static final Path MODEL_DIR =
            Path.of(System.getProperty("steergate.model.dir", "../shared/models/stories260K"));

    private static LlamaModel model;
    private static PromptSets kindness;
    private static List<HookSite> resid;
    private static LineasFit fit;

    @BeforeAll
    static void load() throws IOException {
        model = LlamaModel.load(MODEL_DIR, DeviceChoice.CPU);
        kindness = PromptSets.load(Path.of("policies/prompts"), "kindness");
        resid = new ArrayList<>();
        for (int l = 0; l < model.config().nLayers(); l++) {
            resid.add(new HookSite(l, HookPoint.RESID));
        }
        fit = Lineas.train(model, kindness.source().texts(), kindness.target().texts(),
                LineasOptions.of("kindness", "kindness", resid).withSteps(100),
                p -> System.out.printf("step %d loss %.5f lr %.5f active %d/%d skipped %d%n", p.step(), p.loss(),
                        p.learningRate(), p.activeNeurons(), p.activeSites(), p.skipped()), () -> false);
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
    }
}
