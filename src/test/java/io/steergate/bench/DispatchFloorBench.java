package io.steergate.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaModel;
import io.steergate.testing.TestModel;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The floor under a decode step written in DJL NDArray operations: what one tiny operation costs on this machine
 * (nanoseconds per operation on stories260K-sized tensors, the median of several rounds), and how many libtorch
 * operations one decode step at batch 1 dispatches (counted with libtorch's profiler: the top-level aten calls of a
 * 65-token generation minus those of a 1-token one, divided by 64). Floor x dispatches is the best this decoder can
 * do per token; compare it with run.c's time per token. Each figure is given twice: wall time, and this thread's CPU
 * time (libtorch runs on the calling thread with one intra-op thread), which a shared, loaded machine inflates far
 * less. A main, not a test.
 */
public final class DispatchFloorBench {

    private static final int OPS = 20_000;
    private static final int ROUNDS = 7;
    private static final int DECODE_STEPS = 64;

    public static void main(String[] args) throws Exception {
        try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            NDArray x = manager.randomNormal(new Shape(1, 64));
            NDArray y = manager.randomNormal(new Shape(1, 64));
            NDArray w = manager.randomNormal(new Shape(64, 64));
            NDArray scores = manager.randomNormal(new Shape(1, 4, 2, 1, 16));
            float[] row = new float[64];
            System.out.printf("ns per operation on [1,64] tensors, one intra-op thread (%d threads), median of %d"
                    + " rounds of %d: wall / thread CPU%n", JniUtils.getNumThreads(), ROUNDS, OPS);
            Map<String, double[]> floor = new TreeMap<>();
            floor.put("a add [1,64] + [1,64], result closed at once", perOp(manager, m -> x.add(y).close()));
            floor.put("b add, results closed with a sub-manager every 50", perOpScoped(manager, m -> x.add(y), x, y));
            floor.put("c matMul [1,64] x [64,64], closed", perOp(manager, m -> x.matMul(w).close()));
            floor.put("d reshape (a view, no arithmetic), closed", perOp(manager, m -> x.reshape(1, 1, 64).close()));
            floor.put("e get(\":, 0:32\") through NDIndex, closed", perOp(manager, m -> x.get(":, 0:32").close()));
            floor.put("f softmax(-1) on (1,4,2,1,16), closed", perOp(manager, m -> scores.softmax(-1).close()));
            floor.put("g toFloatArray of [1,64] (copy out)", perOp(manager, m -> x.toFloatArray()));
            floor.put("h manager.create(float[64]), closed", perOp(manager, m -> m.create(row, new Shape(1, 64))
                    .close()));
            floor.put("i newSubManager() + close()", perOp(manager, m -> m.newSubManager().close()));
            floor.put("j getShape() of a fresh view (one JNI size query)", perOp(manager, m -> {
                NDArray v = x.reshape(64);
                v.getShape();
                v.close();
            }));
            floor.forEach((name, ns) -> System.out.printf("  %-52s %7.0f / %7.0f ns%n", name.substring(2), ns[0],
                    ns[1]));
            double[] dispatch = floor.get("a add [1,64] + [1,64], result closed at once");

            Path dir = TestModel.dir();
            try (LlamaModel model = LlamaModel.load(dir, DeviceChoice.CPU)) {
                Generator generator = new Generator(model);
                for (int i = 0; i < 20; i++) {
                    generator.generate(List.of(greedy(DECODE_STEPS))); // warmup (JIT)
                }
                double[] tokS = batchOneTokS(generator); // before profiling: the profiler slows what runs after it
                double perStep = atenCallsPerDecodeStep(generator);
                System.out.printf("decode step at batch 1 (%s): %.1f top-level libtorch calls%n", model.name(),
                        perStep);
                String[] clocks = {"wall", "thread CPU"};
                for (int c = 0; c < 2; c++) {
                    System.out.printf("%s: floor %.1f calls x %.0f ns = %.0f us per token = at most %.0f tok/s;"
                            + " measured %.0f tok/s (%.0f us per token, %.1f us per call)%n", clocks[c], perStep,
                            dispatch[c], perStep * dispatch[c] / 1e3, 1e9 / (perStep * dispatch[c]), tokS[c],
                            1e6 / tokS[c], 1e6 / tokS[c] / perStep);
                }
            }
        }
    }

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /** Median ns per call of {@code op} (wall, thread CPU), each call's arrays closed by the op itself. */
    private static double[] perOp(NDManager manager, Consumer<NDManager> op) {
        return rounds(() -> {
            for (int i = 0; i < OPS; i++) {
                op.accept(manager);
            }
        });
    }

    /**
     * Median ns per call of {@code op} when its results live in a sub-manager closed every 50 calls (as a layer's do):
     * its inputs are lent to the sub-manager, so that what the op makes belongs to it.
     */
    private static double[] perOpScoped(NDManager manager, Consumer<NDManager> op, NDArray... inputs) {
        return rounds(() -> {
            for (int i = 0; i < OPS / 50; i++) {
                try (NDManager scope = manager.newSubManager()) {
                    scope.tempAttachAll(inputs);
                    for (int k = 0; k < 50; k++) {
                        op.accept(scope);
                    }
                }
            }
        });
    }

    /** A warmup round, then the median of ROUNDS rounds of OPS calls: ns per call, wall and thread CPU. */
    private static double[] rounds(Runnable round) {
        round.run();
        double[] wall = new double[ROUNDS];
        double[] cpu = new double[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            long cpuStart = THREADS.getCurrentThreadCpuTime();
            long start = System.nanoTime();
            round.run();
            wall[r] = (System.nanoTime() - start) / (double) OPS;
            cpu[r] = (THREADS.getCurrentThreadCpuTime() - cpuStart) / (double) OPS;
        }
        Arrays.sort(wall);
        Arrays.sort(cpu);
        return new double[] {wall[ROUNDS / 2], cpu[ROUNDS / 2]};
    }

    /** Top-level aten calls per decode step: a profile of 65 generated tokens minus one of 1, over 64. */
    private static double atenCallsPerDecodeStep(Generator generator) throws Exception {
        generator.generate(List.of(greedy(DECODE_STEPS + 1))); // warmup
        long with = topLevelCalls(generator, DECODE_STEPS + 1);
        long without = topLevelCalls(generator, 1);
        return (with - without) / (double) DECODE_STEPS;
    }

    private static long topLevelCalls(Generator generator, int tokens) throws Exception {
        Path trace = Files.createTempFile("steergate-profile", ".json");
        try {
            JniUtils.startProfile(false, false, false);
            int made = generator.generate(List.of(greedy(tokens))).get(0).completionTokens();
            JniUtils.stopProfile(trace.toString());
            if (made != tokens) {
                throw new IllegalStateException("expected " + tokens + " tokens, got " + made);
            }
            return topLevel(Files.readString(trace));
        } finally {
            Files.deleteIfExists(trace);
        }
    }

    /** Complete events of a Chrome trace that no other event encloses (same thread): the calls DJL made. */
    static long topLevel(String json) {
        Pattern event = Pattern.compile("\"ts\"\\s*:\\s*([0-9.]+)\\s*,\\s*\"dur\"\\s*:\\s*([0-9.]+)");
        List<double[]> spans = new ArrayList<>();
        Matcher m = event.matcher(json);
        while (m.find()) {
            spans.add(new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2))});
        }
        spans.sort((a, b) -> a[0] != b[0] ? Double.compare(a[0], b[0]) : Double.compare(b[1], a[1]));
        long count = 0;
        double end = Double.NEGATIVE_INFINITY;
        for (double[] s : spans) {
            if (s[0] >= end) {
                count++;
                end = s[0] + s[1];
            } else {
                end = Math.max(end, Math.min(end, s[0] + s[1]));
            }
        }
        return count;
    }

    /** Batch-1 tok/s by wall and by thread CPU time, medians of 15 generations of 64 tokens. */
    private static double[] batchOneTokS(Generator generator) {
        double[] wall = new double[15];
        double[] cpu = new double[wall.length];
        for (int r = 0; r < wall.length; r++) {
            long cpuStart = THREADS.getCurrentThreadCpuTime();
            long start = System.nanoTime();
            int made = generator.generate(List.of(greedy(DECODE_STEPS))).get(0).completionTokens();
            wall[r] = made / ((System.nanoTime() - start) / 1e9);
            cpu[r] = made / ((THREADS.getCurrentThreadCpuTime() - cpuStart) / 1e9);
        }
        Arrays.sort(wall);
        Arrays.sort(cpu);
        return new double[] {wall[wall.length / 2], cpu[cpu.length / 2]};
    }

    private static GenerationInput greedy(int tokens) {
        // "Once upon a time" runs the full 64 tokens (and more) without EOS (see the golden file)
        return new GenerationInput("Once upon a time", tokens, 0f, 1f, 0);
    }
}
