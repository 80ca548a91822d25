package io.steergate.bench;

import io.steergate.engine.model.Completion;
import io.steergate.engine.model.DecodePath;
import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaModel;
import io.steergate.testing.TestModel;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * llama2.c's run.c beside the engine in one process run: builds run.c with {@code ../shared/tools/llama2c/build.sh}
 * (skipped, with a message, when there is no C compiler), then alternates a run.c generation (batch 1, greedy,
 * one thread) with the engine's greedy decode at batch 1, 8 and 32 on stories260K, and prints each case's median
 * tok/s and its ratio to run.c (the median of per-round ratios, each against the run.c run of the same round). The
 * engine's rate is also given by its thread's CPU time, which a loaded machine inflates less than wall time; run.c's
 * own figure is wall time over a short burst. A main, not a test:
 * {@code [rounds=7] [tools dir=../shared/tools/llama2c] [decode path=AUTO]}.
 */
public final class RunCComparison {

    private static final int RUN_C_STEPS = 256; // run.c's -n: positions, the prompt's included
    // the engine decodes the same positions as run.c: "Once upon a time" is 5 tokens (BOS included)
    private static final int NEW_TOKENS = RUN_C_STEPS - 5;
    private static final int[] BATCHES = {1, 8, 32};
    private static final Pattern ACHIEVED = Pattern.compile("achieved tok/s: ([0-9.]+)");

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        Path tools = Path.of(args.length > 1 ? args[1] : "../shared/tools/llama2c");
        DecodePath path = DecodePath.valueOf(args.length > 2 ? args[2] : "AUTO");
        Path dir = TestModel.dir();
        Path runC = build(tools);
        if (runC == null) {
            return;
        }
        try (LlamaModel model = LlamaModel.load(dir, DeviceChoice.CPU)) {
            Generator generator = new Generator(model, path);
            System.out.printf("run.c (%s) vs %s on %s, engine (decode path %s) %d new tokens per row, %d rounds%n",
                    runC, model.name(), model.device(), path, NEW_TOKENS, rounds);
            runC(runC, dir); // warm the page cache
            for (int i = 0; i < 10; i++) {
                for (int batch : BATCHES) {
                    generator.generate(rows(batch)); // warmup: the JIT needs several runs of the decode loop
                }
            }
            double[][] runs = new double[rounds][1 + BATCHES.length]; // per round: run.c, then each batch
            double[][] cpu = new double[rounds][1 + BATCHES.length];
            for (int r = 0; r < rounds; r++) {
                runs[r][0] = runC(runC, dir);
                cpu[r][0] = runs[r][0];
                for (int i = 0; i < BATCHES.length; i++) {
                    double[] rate = engine(generator, BATCHES[i]);
                    runs[r][1 + i] = rate[0];
                    cpu[r][1 + i] = rate[1];
                }
            }
            double[][] baseline = new double[rounds][];
            for (int r = 0; r < rounds; r++) {
                baseline[r] = new double[1 + BATCHES.length];
                Arrays.fill(baseline[r], runs[r][0]);
            }
            System.out.printf("run.c   batch  1: %7.0f tok/s (median; min %.0f, max %.0f)%n",
                    PairedRuns.median(runs, 0), PairedRuns.min(runs, 0), PairedRuns.max(runs, 0));
            for (int i = 0; i < BATCHES.length; i++) {
                System.out.printf("engine  batch %2d: %7.0f tok/s (median; min %.0f, max %.0f), %.2fx run.c"
                        + " (median of per-round ratios); by thread CPU %7.0f tok/s, %.2fx run.c%n", BATCHES[i],
                        PairedRuns.median(runs, 1 + i), PairedRuns.min(runs, 1 + i), PairedRuns.max(runs, 1 + i),
                        PairedRuns.pairRatio(runs, baseline, 1 + i), PairedRuns.median(cpu, 1 + i),
                        PairedRuns.pairRatio(cpu, baseline, 1 + i));
            }
            System.out.printf("targets (issue 14): batch 1 >= 0.5x run.c, batch 32 >= 4x run.c%n");
        }
    }

    /** The compiled binary, or null (after saying why) when it cannot be built here. */
    private static Path build(Path tools) throws IOException, InterruptedException {
        Path script = tools.resolve("build.sh");
        if (!Files.isRegularFile(script)) {
            System.out.println("skipped: no run.c build script at " + script);
            return null;
        }
        if (!onPath("gcc")) {
            System.out.println("skipped: no C compiler (gcc) on the PATH to build run.c");
            return null;
        }
        Process p = new ProcessBuilder("bash", script.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            System.out.println("skipped: building run.c failed: " + out);
            return null;
        }
        String[] lines = out.split("\n");
        return Path.of(lines[lines.length - 1].strip());
    }

    private static boolean onPath(String command) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String d : path.split(File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, command))) {
                return true;
            }
        }
        return false;
    }

    /** One run.c generation of the same prompt, greedy: its own tok/s (it times from its second token on). */
    private static double runC(Path binary, Path dir) throws IOException, InterruptedException {
        Path checkpoint;
        Path tokenizer;
        try (var files = Files.list(dir)) {
            List<Path> bins = files.filter(f -> f.getFileName().toString().endsWith(".bin")).sorted().toList();
            tokenizer = bins.stream().filter(f -> f.getFileName().toString().startsWith("tok")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no tok*.bin in " + dir));
            checkpoint = bins.stream().filter(f -> !f.getFileName().toString().startsWith("tok")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no checkpoint in " + dir));
        }
        List<String> command = new ArrayList<>(List.of(binary.toString(), checkpoint.toString(), "-z",
                tokenizer.toString(), "-t", "0", "-n", String.valueOf(RUN_C_STEPS), "-i", "Once upon a time"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(1, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("run.c failed: " + out);
        }
        Matcher m = ACHIEVED.matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("run.c printed no 'achieved tok/s': " + out);
        }
        return Double.parseDouble(m.group(1));
    }

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /** tok/s of one generation by wall time and by this thread's CPU time. */
    private static double[] engine(Generator generator, int batch) {
        List<GenerationInput> rows = rows(batch);
        long cpuStart = THREADS.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        List<Completion> out = generator.generate(rows);
        double seconds = (System.nanoTime() - start) / 1e9;
        double cpuSeconds = (THREADS.getCurrentThreadCpuTime() - cpuStart) / 1e9;
        int tokens = out.stream().mapToInt(Completion::completionTokens).sum();
        return new double[] {tokens / seconds, tokens / cpuSeconds};
    }

    private static List<GenerationInput> rows(int batch) {
        List<GenerationInput> rows = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            // greedy rows, as run.c's -t 0
            rows.add(new GenerationInput("Once upon a time", NEW_TOKENS, 0f, 1f, b));
        }
        return rows;
    }
}
