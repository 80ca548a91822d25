package io.steergate.bench;

import io.steergate.engine.model.Completion;
import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.engine.training.Fit;
import io.steergate.engine.training.FitOptions;
import io.steergate.engine.training.LinearAct;
import io.steergate.testing.TestModel;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.IntFunction;

/**
 * Cost of steering: greedy decode tok/s unsteered vs steered (three interventions composed, each with maps at the
 * resid, attn_norm and mlp_out sites of every layer) at batch 1, 8 and 32; a batch of 32 rows with 32 different plans
 * vs one plan for all; one map at every branch output with and without token gates (DSAS); and the time of a
 * Linear-AcT fit on 32 + 32 prompts at every layer's resid site. Unsteered and steered runs alternate, and each figure
 * is the median of several repetitions. A main, not a test.
 */
public final class SteeringBench {

    private static final int NEW_TOKENS = 64;
    // pairs of windows per case; -Dbench.repetitions=21 narrows the median on a noisy machine
    private static final int REPETITIONS = Integer.getInteger("bench.repetitions", 7);
    private static final long WARMUP_NANOS = 2_000_000_000L;
    private static final long MEASURE_NANOS = 250_000_000L;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    public static void main(String[] args) throws Exception {
        Path dir = TestModel.dir();
        DeviceChoice choice = DeviceChoice.parse(System.getProperty("steergate.device", "auto"));
        try (LlamaModel model = LlamaModel.load(dir, choice)) {
            Generator generator = new Generator(model);
            System.out.printf("model %s on %s, %d new tokens per row, median of %d%n", model.name(), model.device(),
                    NEW_TOKENS, REPETITIONS);
            Random random = new Random(42);
            List<HookSite> sites = new ArrayList<>();
            for (int l = 0; l < model.config().nLayers(); l++) {
                sites.add(new HookSite(l, HookPoint.ATTN_NORM));
                sites.add(new HookSite(l, HookPoint.MLP_OUT));
                sites.add(new HookSite(l, HookPoint.RESID));
            }
            SteeringPlan plan = composedPlan(model, sites, random);

            for (int batch : new int[] {1, 8, 32}) {
                double[] ratio = compare(generator, b -> plain(b), b -> plain(b).withSteering(plan), batch);
                System.out.printf("batch %2d: unsteered %7.0f tok/s, steered (3 maps x 15 sites) %7.0f tok/s,"
                        + " ratio %.3f (median of per-pair ratios %.3f; by the stepping thread's CPU %.3f [%.3f, %.3f])%n", batch,
                        ratio[0], ratio[1], ratio[1] / ratio[0], ratio[2], ratio[3], ratio[4], ratio[5]);
            }
            // a token-gated map (DSAS) cannot fold: a stage of its own, with a dot product and a sigmoid per token
            List<HookSite> branches = new ArrayList<>();
            for (int l = 0; l < model.config().nLayers(); l++) {
                branches.add(new HookSite(l, HookPoint.ATTN_OUT));
                branches.add(new HookSite(l, HookPoint.MLP_OUT));
            }
            Intervention gatedMap = gatedMap(model, branches, random);
            SteeringPlan ungatedPlan = SteeringPlan.of(ungated(gatedMap), 1.0);
            SteeringPlan gatedPlan = SteeringPlan.of(gatedMap, 1.0);
            for (int batch : new int[] {1, 8, 32}) {
                double[] ratio = compare(generator, b -> plain(b).withSteering(ungatedPlan),
                        b -> plain(b).withSteering(gatedPlan), batch);
                System.out.printf("batch %2d: one map at %d branch outputs %7.0f tok/s, the same map gated %7.0f tok/s,"
                        + " ratio %.3f (median of per-pair ratios %.3f; by the stepping thread's CPU %.3f [%.3f, %.3f])%n", batch,
                        branches.size(), ratio[0], ratio[1], ratio[1] / ratio[0], ratio[2], ratio[3], ratio[4], ratio[5]);
            }
            List<SteeringPlan> plans = new ArrayList<>();
            for (int b = 0; b < 32; b++) {
                plans.add(composedPlan(model, sites, random));
            }
            double[] mixed = compare(generator, b -> plain(b).withSteering(plan), b -> plain(b).withSteering(plans
                    .get(b)), 32);
            System.out.printf("batch 32: one plan for all %7.0f tok/s, 32 different plans %7.0f tok/s, ratio %.3f"
                    + " (median of per-pair ratios %.3f; by the stepping thread's CPU %.3f [%.3f, %.3f])%n", mixed[0], mixed[1],
                    mixed[1] / mixed[0], mixed[2], mixed[3], mixed[4], mixed[5]);

            List<HookSite> resid = new ArrayList<>();
            for (int l = 0; l < model.config().nLayers(); l++) {
                resid.add(new HookSite(l, HookPoint.RESID));
            }
            List<String> source = new ArrayList<>();
            List<String> target = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                source.add("The dog number " + i + " ran to the park and barked at the birds");
                target.add("The cat number " + i + " sat on the mat and looked at the sun");
            }
            FitOptions options = FitOptions.of("bench", "dogs", resid);
            LinearAct.fit(model, source, target, options); // warmup
            long[] millis = new long[5];
            Fit last = null;
            for (int r = 0; r < millis.length; r++) {
                long start = System.nanoTime();
                last = LinearAct.fit(model, source, target, options);
                millis[r] = (System.nanoTime() - start) / 1_000_000;
            }
            Arrays.sort(millis);
            System.out.printf("Linear-AcT fit, 32 + 32 prompts, %d resid sites: %d ms (median; collect %d ms,"
                    + " fit %d ms in the last run)%n", resid.size(), millis[2], last.collectMillis(), last.fitMillis());
        }
    }

    private static GenerationInput plain(int b) {
        // greedy: "Once upon a time" runs the full 64 tokens without EOS (see the golden file)
        return new GenerationInput("Once upon a time", NEW_TOKENS, 0f, 1f, b);
    }

    /** Three random interventions (ω near 1, β near 0) at {@code sites}, composed at strengths 1, 0.8, 0.5. */
    static SteeringPlan composedPlan(LlamaModel model, List<HookSite> sites, Random random) {
        List<SteeringPlan.Step> steps = new ArrayList<>();
        double[] strengths = {1.0, 0.8, 0.5};
        for (int m = 0; m < 3; m++) {
            TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
            for (HookSite site : sites) {
                float[] omega = new float[model.config().dim()];
                float[] beta = new float[omega.length];
                for (int i = 0; i < omega.length; i++) {
                    omega[i] = 1 + 0.02f * (float) random.nextGaussian();
                    beta[i] = 0.01f * (float) random.nextGaussian();
                }
                maps.put(site, AffineMap.of(omega, beta));
            }
            steps.add(new SteeringPlan.Step(new Intervention("bench-" + m, Intervention.LINEAR_ACT,
                    model.fingerprint(), "", Map.of(), maps), strengths[m]));
        }
        return SteeringPlan.compose(steps);
    }

    /** A random map (as {@link #composedPlan}'s) at {@code sites} with a random token gate at each, as LinEAS trains. */
    static Intervention gatedMap(LlamaModel model, List<HookSite> sites, Random random) {
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        int width = model.config().dim();
        for (HookSite site : sites) {
            float[] omega = new float[width];
            float[] beta = new float[width];
            float[] gate = new float[width];
            for (int i = 0; i < width; i++) {
                omega[i] = 1 + 0.02f * (float) random.nextGaussian();
                beta[i] = 0.01f * (float) random.nextGaussian();
                gate[i] = 0.1f * (float) random.nextGaussian();
            }
            maps.put(site, AffineMap.of(omega, beta).gated(gate, -2f));
        }
        return new Intervention("bench-gated", Intervention.LINEAS, model.fingerprint(), "", Map.of(), maps);
    }

    /** {@code gated} without its gates. */
    static Intervention ungated(Intervention gated) {
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        gated.maps().forEach((site, map) -> maps.put(site, map.ungated()));
        return new Intervention(gated.name(), gated.method(), gated.modelFingerprint(), gated.concept(), gated.metadata(),
                maps);
    }

    /**
     * Median tok/s of batches built by a and by b, run alternately; the median of the per-pair ratios b/a by wall time,
     * and by the stepping thread's CPU time, which a shared machine's other work disturbs less (at batch 8 and 32 it
     * counts the rows that thread runs itself, the same share for a and b), with a 95% bootstrap interval of the latter
     * median (per-pair ratios spread by +-25% on this machine at batch 32, so 21 pairs place a median within about 3%).
     */
    private static double[] compare(Generator generator, IntFunction<GenerationInput> a,
            IntFunction<GenerationInput> b, int batch) {
        List<GenerationInput> rowsA = new ArrayList<>();
        List<GenerationInput> rowsB = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            rowsA.add(a.apply(i));
            rowsB.add(b.apply(i));
        }
        // warm-up long enough for the JIT to compile both paths: one generation of 64 tokens is a few milliseconds
        for (long end = System.nanoTime() + WARMUP_NANOS; System.nanoTime() < end;) {
            generator.generate(rowsA);
            generator.generate(rowsB);
        }
        double[] rateA = new double[REPETITIONS];
        double[] rateB = new double[REPETITIONS];
        double[] ratio = new double[REPETITIONS];
        double[] cpuRatio = new double[REPETITIONS];
        for (int r = 0; r < REPETITIONS; r++) {
            double[] rateAndCpuA = rate(generator, rowsA);
            double[] rateAndCpuB = rate(generator, rowsB);
            rateA[r] = rateAndCpuA[0];
            rateB[r] = rateAndCpuB[0];
            ratio[r] = rateB[r] / rateA[r];
            cpuRatio[r] = rateAndCpuB[1] / rateAndCpuA[1];
        }
        Arrays.sort(rateA);
        Arrays.sort(rateB);
        Arrays.sort(ratio);
        Arrays.sort(cpuRatio);
        int median = REPETITIONS / 2;
        double[] cpuInterval = PairedRuns.medianInterval(cpuRatio);
        return new double[] {rateA[median], rateB[median], ratio[median], cpuRatio[median], cpuInterval[0], cpuInterval[1]};
    }

    /**
     * tok/s of repeated generations of {@code rows} over at least {@link #MEASURE_NANOS}, by wall time and by this
     * thread's CPU time.
     */
    private static double[] rate(Generator generator, List<GenerationInput> rows) {
        long cpuStart = THREADS.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        long tokens = 0;
        long elapsed;
        do {
            tokens += generator.generate(rows).stream().mapToInt(Completion::completionTokens).sum();
            elapsed = System.nanoTime() - start;
        } while (elapsed < MEASURE_NANOS);
        double cpuSeconds = (THREADS.getCurrentThreadCpuTime() - cpuStart) / 1e9;
        return new double[] {tokens / (elapsed / 1e9), tokens / cpuSeconds};
    }
}
