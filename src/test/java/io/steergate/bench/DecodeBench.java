package io.steergate.bench;

import io.steergate.engine.model.Completion;
import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaModel;
import io.steergate.testing.TestModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Decode throughput of the batched generator at batch 1, 8 and 32 (greedy, 64 new tokens, a warmup, the median of
 * several repetitions), and the RSS growth over the whole run. A main, not a test: numbers depend on the machine.
 */
public final class DecodeBench {

    private static final int NEW_TOKENS = 64;
    private static final int REPETITIONS = 5;

    public static void main(String[] args) throws Exception {
        Path dir = TestModel.dir();
        DeviceChoice choice = DeviceChoice.parse(System.getProperty("steergate.device", "auto"));
        try (LlamaModel model = LlamaModel.load(dir, choice)) {
            Generator generator = new Generator(model);
            System.out.printf("model %s on %s, %d new tokens per row, median of %d%n", model.name(), model.device(),
                    NEW_TOKENS, REPETITIONS);
            long rssStart = MemoryProbe.rssKb();
            for (int batch : new int[] {1, 8, 32}) {
                List<GenerationInput> rows = new ArrayList<>();
                for (int b = 0; b < batch; b++) {
                    // greedy rows: "Once upon a time" runs the full 64 tokens without EOS (see the golden file)
                    rows.add(new GenerationInput("Once upon a time", NEW_TOKENS, 0f, 1f, b));
                }
                generator.generate(rows); // warmup
                double[] rates = new double[REPETITIONS];
                for (int r = 0; r < REPETITIONS; r++) {
                    long start = System.nanoTime();
                    List<Completion> out = generator.generate(rows);
                    double seconds = (System.nanoTime() - start) / 1e9;
                    rates[r] = out.stream().mapToInt(Completion::completionTokens).sum() / seconds;
                }
                Arrays.sort(rates);
                System.out.printf("batch %2d: %8.0f tok/s (median; min %.0f, max %.0f)%n", batch,
                        rates[REPETITIONS / 2], rates[0], rates[REPETITIONS - 1]);
            }
            System.out.printf("RSS %d MB -> %d MB over the run%n", rssStart / 1024, MemoryProbe.rssKb() / 1024);
        }
    }
}
