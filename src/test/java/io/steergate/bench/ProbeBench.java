package io.steergate.bench;

import static io.steergate.bench.PairedRuns.max;
import static io.steergate.bench.PairedRuns.median;
import static io.steergate.bench.PairedRuns.min;
import static io.steergate.bench.PairedRuns.pairRatio;

import io.steergate.engine.eval.LinearProbe;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.messages.AppliedIntervention;
import io.steergate.messages.Job;
import io.steergate.messages.ModelRef;
import io.steergate.messages.ProbeRequest;
import io.steergate.testing.TestModel;
import io.steergate.worker.WorkerBatchPath;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Throughput of the worker's batch path (JobBatch, no broker) without and with a probe scorer on every job: the same
 * jobs as {@link CounterfactualBench} (kindness prompts, the shipped kindness map at strength 1, temperature 0.8, seed
 * = the job's number, batches of 32, token budget 16384), in the probe case each asking for the meanness probe at
 * layers.2.resid (trained once before timing, as a worker trains it on first use). Runs alternate after a warm-up;
 * medians, and the median per-pair ratio (each probe run against the run without just before it). jobs per CPU-s
 * divides by the generating thread's CPU time, which leaves out waiting for a core on a shared machine. A main, not a
 * test. {@code -Dexec.args="jobs repetitions maxTokens"}, default 160 5 48.
 */
public final class ProbeBench {

    private static final int BATCH_SIZE = 32;
    private static final int TOKEN_BUDGET = 16_384;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    public static void main(String[] args) throws Exception {
        int jobs = args.length > 0 ? Integer.parseInt(args[0]) : 160;
        int repetitions = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int maxTokens = args.length > 2 ? Integer.parseInt(args[2]) : 48;
        List<String> prompts = CounterfactualBench.kindnessPrompts();
        Intervention kindness = InterventionFile.read(Path.of("policies/interventions/kindness.safetensors"));
        List<AppliedIntervention> plan = CounterfactualBench.KINDNESS_AT_ONE;
        ProbeRequest probe = new ProbeRequest("meanness-probe", "kindness", "layers.2.resid",
                PromptSet.read(Path.of("policies/prompts/kindness.source.jsonl")).sha256(),
                PromptSet.read(Path.of("policies/prompts/kindness.target.jsonl")).sha256());
        try (LlamaModel model = LlamaModel.load(TestModel.dir(), DeviceChoice.CPU)) {
            long trainStart = System.nanoTime();
            LinearProbe trained = WorkerBatchPath.trainProbe(model, probe, Path.of("policies"));
            double trainSeconds = (System.nanoTime() - trainStart) / 1e9;
            Generator generator = new Generator(model);
            ModelRef ref = new ModelRef(model.name(), "sha256:bench");
            WorkerBatchPath path = new WorkerBatchPath(generator, ref, model.config().seqLen(), TOKEN_BUDGET,
                    p -> p.isEmpty() ? SteeringPlan.NONE : SteeringPlan.of(kindness, 1.0), HookSite.parse(probe.site()), trained);
            List<Job> plain = jobs(jobs, prompts, plan, maxTokens, List.of());
            List<Job> probed = jobs(jobs, prompts, plan, maxTokens, List.of(probe));
            System.out.printf(Locale.ROOT, "model %s on %s: %d jobs (%d prompts), maxTokens %d, batches of %d, budget %d;"
                    + " probe trained in %.2f s; median of %d%n", model.name(), model.device(), jobs, prompts.size(), maxTokens,
                    BATCH_SIZE, TOKEN_BUDGET, trainSeconds, repetitions);
            run(path, plain);
            run(path, probed); // warm-up
            double[][] without = new double[repetitions][];
            double[][] with = new double[repetitions][];
            for (int r = 0; r < repetitions; r++) {
                without[r] = run(path, plain);
                with[r] = run(path, probed);
            }
            report("none", without, null);
            report("probe", with, without);
        }
    }

    private static List<Job> jobs(int count, List<String> prompts, List<AppliedIntervention> plan, int maxTokens,
            List<ProbeRequest> probes) {
        List<Job> jobs = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            jobs.add(new Job("bench-" + i, "bench", "stories260K", prompts.get(i % prompts.size()), maxTokens, 0.8, 1.0, i,
                    null, plan, System.currentTimeMillis(), false, probes));
        }
        return jobs;
    }

    /** jobs/s, usage tokens/s, jobs per CPU-second of this thread. */
    private static double[] run(WorkerBatchPath path, List<Job> jobs) {
        long cpuStart = THREADS.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        int completed = 0;
        int usage = 0;
        for (int from = 0; from < jobs.size(); from += BATCH_SIZE) {
            WorkerBatchPath.Counts counts = path.run(jobs.subList(from, Math.min(jobs.size(), from + BATCH_SIZE)));
            completed += counts.completed();
            usage += counts.usageTokens();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double cpuSeconds = (THREADS.getCurrentThreadCpuTime() - cpuStart) / 1e9;
        return new double[] {completed / seconds, usage / seconds, completed / cpuSeconds};
    }

    private static void report(String label, double[][] runs, double[][] before) {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-5s jobs/s %6.1f  usage tok/s %7.0f"
                + "  jobs per CPU-s %6.1f  (jobs/s min %.1f max %.1f)", label, median(runs, 0), median(runs, 1),
                median(runs, 2), min(runs, 0), max(runs, 0)));
        if (before != null) {
            line.append(String.format(Locale.ROOT, "; against none: jobs/s ratio of medians %.3f, median per-pair ratio %.3f;"
                    + " jobs per CPU-s ratio of medians %.3f, median per-pair ratio %.3f", median(runs, 0) / median(before, 0),
                    pairRatio(runs, before, 0), median(runs, 2) / median(before, 2), pairRatio(runs, before, 2)));
        }
        System.out.println(line);
    }
}
