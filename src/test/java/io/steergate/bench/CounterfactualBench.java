package io.steergate.bench;

import static io.steergate.bench.PairedRuns.max;
import static io.steergate.bench.PairedRuns.median;
import static io.steergate.bench.PairedRuns.min;
import static io.steergate.bench.PairedRuns.pairRatio;

import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.messages.AppliedIntervention;
import io.steergate.messages.Job;
import io.steergate.messages.ModelRef;
import io.steergate.testing.TestModel;
import io.steergate.worker.WorkerBatchPath;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Throughput of the worker's batch path (JobBatch, no broker) when 0% and when 10% of the jobs ask for a
 * counterfactual: the same jobs (kindness prompts, the shipped kindness map at strength 1, temperature 0.8, seed =
 * the job's number), in batches of the worker's default size 32 and token budget 16384; in the 10% case every tenth
 * job asks. Runs alternate between the cases after a warm-up; medians of the repetitions, and the median of the
 * per-pair ratios (each 10% run against the 0% run just before it), which is the steadier number on a shared machine.
 * jobs/s counts jobs completed; usage tok/s the tokens of their results' usage (what clients get); all tok/s adds the
 * counterfactual rows' tokens (what the model generated). jobs per CPU-s divides by the CPU time of the generating
 * thread instead of wall time: libtorch runs with one intra-op thread on the caller, so this leaves out the time spent
 * waiting for a core on a shared machine. A main, not a test.
 * {@code -Dexec.args="jobs repetitions maxTokens"}, default 160 5 48.
 */
public final class CounterfactualBench {

    private static final int BATCH_SIZE = 32;
    private static final int TOKEN_BUDGET = 16_384;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /** The plan of every job of this bench and of {@link ProbeBench}: the shipped kindness map at strength 1. */
    static final List<AppliedIntervention> KINDNESS_AT_ONE = List.of(new AppliedIntervention("kindness", 1, 1.0));

    /** The prompts the jobs take in turn: the kindness eval and elicit sets (also {@link ProbeBench}'s). */
    static List<String> kindnessPrompts() throws IOException {
        List<String> prompts = new ArrayList<>(PromptSet.read(Path.of("policies/prompts/kindness.eval.jsonl")).texts());
        prompts.addAll(PromptSet.read(Path.of("policies/prompts/kindness.elicit.jsonl")).texts());
        return prompts;
    }

    public static void main(String[] args) throws Exception {
        int jobs = args.length > 0 ? Integer.parseInt(args[0]) : 160;
        int repetitions = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int maxTokens = args.length > 2 ? Integer.parseInt(args[2]) : 48;
        List<String> prompts = kindnessPrompts();
        Intervention kindness = InterventionFile.read(Path.of("policies/interventions/kindness.safetensors"));
        List<AppliedIntervention> plan = KINDNESS_AT_ONE;
        try (LlamaModel model = LlamaModel.load(TestModel.dir(), DeviceChoice.CPU)) {
            WorkerBatchPath path = new WorkerBatchPath(new Generator(model), new ModelRef(model.name(), "sha256:bench"),
                    model.config().seqLen(), TOKEN_BUDGET, p -> p.isEmpty() ? SteeringPlan.NONE : SteeringPlan.of(kindness, 1.0));
            List<Job> none = jobs(jobs, prompts, plan, maxTokens, 0);
            List<Job> tenth = jobs(jobs, prompts, plan, maxTokens, 10);
            System.out.printf(Locale.ROOT, "model %s on %s: %d jobs (%d prompts), maxTokens %d, batches of %d, budget %d;"
                    + " %d of them ask in the 10%% case; median of %d%n", model.name(), model.device(), jobs, prompts.size(),
                    maxTokens, BATCH_SIZE, TOKEN_BUDGET, tenth.stream().filter(Job::counterfactual).count(), repetitions);
            run(path, none);
            run(path, tenth); // warm-up
            double[][] plain = new double[repetitions][];
            double[][] sampled = new double[repetitions][];
            for (int r = 0; r < repetitions; r++) {
                plain[r] = run(path, none);
                sampled[r] = run(path, tenth);
            }
            report("0%", plain, null);
            report("10%", sampled, plain);
        }
    }

    /** Every {@code every}-th job (0: none) asks for a counterfactual. */
    static List<Job> jobs(int count, List<String> prompts, List<AppliedIntervention> plan, int maxTokens, int every) {
        List<Job> jobs = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            jobs.add(new Job("bench-" + i, "bench", "stories260K", prompts.get(i % prompts.size()), maxTokens, 0.8, 1.0, i,
                    null, plan, System.currentTimeMillis(), every > 0 && i % every == 0));
        }
        return jobs;
    }

    /** jobs/s, usage tokens/s, all tokens/s, counterfactual texts received, jobs per CPU-second of this thread. */
    static double[] run(WorkerBatchPath path, List<Job> jobs) {
        long cpuStart = THREADS.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        int completed = 0;
        int usage = 0;
        int counterfactual = 0;
        int texts = 0;
        for (int from = 0; from < jobs.size(); from += BATCH_SIZE) {
            WorkerBatchPath.Counts counts = path.run(jobs.subList(from, Math.min(jobs.size(), from + BATCH_SIZE)));
            completed += counts.completed();
            usage += counts.usageTokens();
            counterfactual += counts.counterfactualTokens();
            texts += counts.counterfactualTexts();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double cpuSeconds = (THREADS.getCurrentThreadCpuTime() - cpuStart) / 1e9;
        return new double[] {completed / seconds, usage / seconds, (usage + counterfactual) / seconds, texts, completed / cpuSeconds};
    }

    static void report(String label, double[][] runs, double[][] before) {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-4s jobs/s %6.1f  usage tok/s %7.0f  all tok/s %7.0f"
                + "  jobs per CPU-s %6.1f  (counterfactual texts %d; jobs/s min %.1f max %.1f)", label, median(runs, 0),
                median(runs, 1), median(runs, 2), median(runs, 4), (int) runs[0][3], min(runs, 0), max(runs, 0)));
        if (before != null) {
            line.append(String.format(Locale.ROOT, "; against 0%%: jobs/s ratio of medians %.3f, median per-pair ratio %.3f;"
                    + " jobs per CPU-s ratio of medians %.3f, median per-pair ratio %.3f", median(runs, 0) / median(before, 0),
                    pairRatio(runs, before, 0), median(runs, 4) / median(before, 4), pairRatio(runs, before, 4)));
        }
        System.out.println(line);
    }
}
