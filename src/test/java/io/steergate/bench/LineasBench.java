package io.steergate.bench;

import io.steergate.engine.eval.PromptSets;
import io.steergate.engine.eval.Wasserstein;
import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.engine.training.Lineas;
import io.steergate.engine.training.LineasFit;
import io.steergate.engine.training.LineasOptions;
import io.steergate.testing.TestModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Cost of a LinEAS training on 32 + 32 kindness prompts (batch 32, default schedule: 300 steps, lr 1e-2): median
 * time per step, and time to convergence, at the resid sites of every layer and at the attn_norm + mlp_norm sites.
 * Convergence: the plateau is the median loss of the last 30 steps; the loss is smoothed by a trailing mean over 10
 * steps; the first step whose smoothed loss is within 2% of the plateau (at most 1.02 x) converged. Its time counts
 * from the start of the training (target collection included). A main, not a test.
 */
public final class LineasBench {

    private static final int PROMPTS = 32;
    private static final int PLATEAU = 30;
    private static final int SMOOTH = 10;

    public static void main(String[] args) throws Exception {
        Path dir = TestModel.dir();
        int steps = Integer.getInteger("steergate.bench.steps", 300);
        PromptSets kindness = PromptSets.load(Path.of("policies/prompts"), "kindness");
        List<String> src = kindness.source().texts().subList(0, PROMPTS);
        List<String> dst = kindness.target().texts().subList(0, PROMPTS);
        try (LlamaModel model = LlamaModel.load(dir, DeviceChoice.CPU)) {
            System.out.printf("model %s on %s, %d + %d kindness prompts, %d steps, batch %d%n", model.name(),
                    model.device(), src.size(), dst.size(), steps, PROMPTS);
            List<HookSite> resid = new ArrayList<>();
            List<HookSite> norms = new ArrayList<>();
            for (int l = 0; l < model.config().nLayers(); l++) {
                resid.add(new HookSite(l, HookPoint.RESID));
                norms.add(new HookSite(l, HookPoint.ATTN_NORM));
                norms.add(new HookSite(l, HookPoint.MLP_NORM));
            }
            Lineas.train(model, src, dst, LineasOptions.of("warmup", "", resid).with(s -> s.withSteps(5))); // warmup
            run(model, src, dst, "resid x5", resid, steps);
            run(model, src, dst, "attn_norm+mlp_norm x5", norms, steps);
        }
    }

    private static void run(LlamaModel model, List<String> src, List<String> dst, String label, List<HookSite> sites,
            int steps) {
        long[] at = new long[steps + 1]; // nanos since start after each step; at[0] = before step 1
        long start = System.nanoTime();
        LineasFit fit = Lineas.train(model, src, dst,
                LineasOptions.of("bench", "kindness", sites).with(s -> s.withSteps(steps)),
                p -> at[p.step()] = System.nanoTime() - start, () -> false);
        double[] loss = fit.lossHistory();
        at[0] = at[1] - (at[2] - at[1]); // step 1 ends one step after the targets were collected (approximation)
        double[] perStep = new double[steps - 1];
        for (int s = 2; s <= steps; s++) {
            perStep[s - 2] = (at[s] - at[s - 1]) / 1e6;
        }
        Arrays.sort(perStep);
        double[] tail = Arrays.copyOfRange(loss, loss.length - PLATEAU, loss.length);
        Arrays.sort(tail);
        double plateau = tail[PLATEAU / 2];
        int converged = -1;
        for (int s = SMOOTH; s <= loss.length && converged < 0; s++) {
            double mean = 0;
            for (int i = s - SMOOTH; i < s; i++) {
                mean += loss[i] / SMOOTH;
            }
            if (mean <= 1.02 * plateau) {
                converged = s;
            }
        }
        ActivationCollector collector = new ActivationCollector(model, 32);
        Map<HookSite, float[][]> before = collector.collect(src, sites, null);
        Map<HookSite, float[][]> after = collector.collect(src, sites, SteeringPlan.of(fit.intervention(), 1.0));
        Map<HookSite, float[][]> target = collector.collect(dst, sites, null);
        double w0 = 0;
        double w1 = 0;
        for (HookSite site : sites) {
            w0 += Wasserstein.siteMean(before.get(site), target.get(site)) / sites.size();
            w1 += Wasserstein.siteMean(after.get(site), target.get(site)) / sites.size();
        }
        System.out.printf("%s: median %.1f ms/step (p10 %.1f, p90 %.1f); loss %.5f -> plateau %.5f (drop %.1f%%);"
                + " converged at step %d, %.1f s; total %.1f s; skipped %d; W1 %.5f -> %.5f (ratio %.3f)%n", label,
                perStep[perStep.length / 2], perStep[perStep.length / 10], perStep[perStep.length * 9 / 10],
                fit.initialLoss(), plateau, 100 * (1 - plateau / fit.initialLoss()), converged,
                converged > 0 ? at[converged] / 1e9 : Double.NaN, fit.trainMillis() / 1e3, fit.skippedSteps(), w0, w1,
                w1 / w0);
        StringBuilder curve = new StringBuilder("  loss every 25 steps:");
        for (int s = 0; s < loss.length; s += 25) {
            curve.append(String.format(" %d:%.5f", s + 1, loss[s]));
        }
        System.out.println(curve);
    }
}
