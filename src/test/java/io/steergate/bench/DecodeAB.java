package io.steergate.bench;

import io.steergate.engine.model.Completion;
import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.ToDoubleBiFunction;

/**
 * An in-JVM A/B of two builds of the engine: each build's classes ({@code io.steergate.*}) load in a class loader of
 * their own over one shared DJL, and every round measures build A then build B on the same case, so that the per-round
 * ratio B/A cancels the drift of a shared, loaded machine. Cases: greedy decode tok/s (64 new tokens) unsteered at
 * batch 1, 8 and 32, steered (SteeringBench's three composed maps at 15 sites) at 1, 8 and 32, and 32 rows with 32
 * different plans. Rates are given by wall time and by the stepping thread's CPU time (libtorch runs on it with one
 * intra-op thread), which a loaded machine inflates far less; and the bytes every thread allocated per generated
 * token (the decode's own threads and the JVM's, so a little noise from the latter). A main, not a test:
 * {@code DecodeAB <classes A> <classes B> <test classes> [rounds=7]}; {@code -Dbench.new-tokens=251} decodes run.c's
 * 256 positions instead of 64 new tokens; {@code -Dbench.cases="plain 2,plain 4"} measures other cases ({@code plain},
 * {@code steered} or {@code mixed}, then the batch).
 */
public final class DecodeAB {

    private static final String[] CASES = System.getProperty("bench.cases",
            "plain 1,plain 8,plain 32,steered 1,steered 8,steered 32,mixed 32").split(",");

    public static void main(String[] args) throws Exception {
        Path testClasses = Path.of(args[2]);
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 7;
        try (Build a = new Build(Path.of(args[0]), testClasses); Build b = new Build(Path.of(args[1]), testClasses)) {
            for (String c : CASES) { // warmup
                a.rate(c);
                b.rate(c);
            }
            double[][] runsA = new double[rounds][CASES.length];
            double[][] runsB = new double[rounds][CASES.length];
            double[][] cpuA = new double[rounds][CASES.length];
            double[][] cpuB = new double[rounds][CASES.length];
            double[][] bytesA = new double[rounds][CASES.length];
            double[][] bytesB = new double[rounds][CASES.length];
            for (int r = 0; r < rounds; r++) {
                for (int c = 0; c < CASES.length; c++) {
                    double[] rate = a.rate(CASES[c]);
                    runsA[r][c] = rate[0];
                    cpuA[r][c] = rate[1];
                    bytesA[r][c] = rate[2];
                    rate = b.rate(CASES[c]);
                    runsB[r][c] = rate[0];
                    cpuB[r][c] = rate[1];
                    bytesB[r][c] = rate[2];
                }
            }
            System.out.printf("A = %s, B = %s, %d rounds%n", args[0], args[1], rounds);
            System.out.println("by wall time, tok/s medians:");
            report(runsA, runsB);
            System.out.println("by thread CPU time, tok/s medians:");
            report(cpuA, cpuB);
            System.out.println("bytes allocated per token, all threads, medians:");
            for (int c = 0; c < CASES.length; c++) {
                System.out.printf("  %-11s A %9.0f  B %9.0f%n", CASES[c], PairedRuns.median(bytesA, c),
                        PairedRuns.median(bytesB, c));
            }
        }
    }

    private static void report(double[][] runsA, double[][] runsB) {
        for (int c = 0; c < CASES.length; c++) {
            System.out.printf("  %-11s A %7.0f  B %7.0f  B/A %.2f (median of per-round ratios)%n", CASES[c],
                    PairedRuns.median(runsA, c), PairedRuns.median(runsB, c), PairedRuns.pairRatio(runsB, runsA, c));
        }
        if (System.getProperty("bench.cases") != null) {
            return; // the steered / unsteered pairs below read the default cases' columns
        }
        for (double[][] runs : new double[][][] {runsA, runsB}) {
            System.out.printf("  %s steered/unsteered %.3f / %.3f / %.3f at 1 / 8 / 32; 32 plans / one plan %.3f%n",
                    runs == runsA ? "A" : "B", PairedRuns.pairRatio(runs, shifted(runs, 3), 3),
                    PairedRuns.pairRatio(runs, shifted(runs, 3), 4), PairedRuns.pairRatio(runs, shifted(runs, 3), 5),
                    PairedRuns.pairRatio(runs, shifted(runs, 1), 6));
        }
    }

    /** The runs with each column c holding column c - by, so that pairRatio(runs, shifted, c) is c over c - by. */
    private static double[][] shifted(double[][] runs, int by) {
        double[][] out = new double[runs.length][];
        for (int r = 0; r < runs.length; r++) {
            out[r] = new double[runs[r].length];
            for (int c = by; c < runs[r].length; c++) {
                out[r][c] = runs[r][c - by];
            }
        }
        return out;
    }

    /** One build, loaded child-first for the engine's packages. */
    private static final class Build implements AutoCloseable {
        private final URLClassLoader loader;
        private final ToDoubleBiFunction<String, Integer> rates;

        @SuppressWarnings("unchecked")
        Build(Path classes, Path testClasses) throws Exception {
            loader = new URLClassLoader(new URL[] {classes.toUri().toURL(), testClasses.toUri().toURL()},
                    DecodeAB.class.getClassLoader()) {
                @Override
                protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
                    synchronized (getClassLoadingLock(name)) {
                        if (!name.startsWith("io.steergate.")) {
                            return super.loadClass(name, resolve);
                        }
                        Class<?> c = findLoadedClass(name);
                        return c != null ? c : findClass(name);
                    }
                }
            };
            rates = (ToDoubleBiFunction<String, Integer>) loader.loadClass(DecodeAB.class.getName() + "$Rates")
                    .getDeclaredConstructor().newInstance();
        }

        /** tok/s by wall time and by thread CPU time, and bytes allocated per token. */
        double[] rate(String c) {
            String[] parts = c.split(" ");
            long allocatedStart = Allocated.bytes();
            long cpuStart = THREADS.getCurrentThreadCpuTime();
            long start = System.nanoTime();
            double tokens = rates.applyAsDouble(parts[0], Integer.parseInt(parts[1]));
            return new double[] {tokens / ((System.nanoTime() - start) / 1e9),
                tokens / ((THREADS.getCurrentThreadCpuTime() - cpuStart) / 1e9),
                (Allocated.bytes() - allocatedStart) / tokens};
        }


        @Override
        public void close() throws Exception {
            ((AutoCloseable) rates).close();
            loader.close();
        }
    }

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /** Loaded in each build's class loader: the tokens of one generation of a case. */
    public static final class Rates implements ToDoubleBiFunction<String, Integer>, AutoCloseable {
        private static final int NEW_TOKENS = Integer.getInteger("bench.new-tokens", 64);
        private final LlamaModel model;
        private final Generator generator;
        private final SteeringPlan plan;
        private final List<SteeringPlan> plans = new ArrayList<>();

        public Rates() throws IOException {
            model = LlamaModel.load(TestModel.dir(), DeviceChoice.CPU);
            generator = new Generator(model);
            Random random = new Random(42);
            List<HookSite> sites = new ArrayList<>();
            for (int l = 0; l < model.config().nLayers(); l++) {
                sites.add(new HookSite(l, HookPoint.ATTN_NORM));
                sites.add(new HookSite(l, HookPoint.MLP_OUT));
                sites.add(new HookSite(l, HookPoint.RESID));
            }
            plan = SteeringBench.composedPlan(model, sites, random);
            for (int b = 0; b < 32; b++) {
                plans.add(SteeringBench.composedPlan(model, sites, random));
            }
        }

        @Override
        public double applyAsDouble(String mode, Integer batch) {
            List<GenerationInput> rows = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                // greedy: "Once upon a time" runs the full 64 tokens without EOS (see the golden file)
                GenerationInput row = new GenerationInput("Once upon a time", NEW_TOKENS, 0f, 1f, b);
                rows.add(switch (mode) {
                    case "plain" -> row;
                    case "steered" -> row.withSteering(plan);
                    case "mixed" -> row.withSteering(plans.get(b));
                    default -> throw new IllegalArgumentException(mode);
                });
            }
            return generator.generate(rows).stream().mapToInt(Completion::completionTokens).sum();
        }

        @Override
        public void close() {
            model.close();
        }
    }
}
