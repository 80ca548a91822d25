package io.steergate.bench;

import io.steergate.engine.eval.PromptSet;
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
import java.util.Locale;

/**
 * The worker's resident memory while it generates a batch at its full token budget: 32 rows, each a prompt of P
 * tokens (story text) and maxTokens = context - P, so 32 x (P + maxTokens) = 32 x 512 = 16384, the default
 * steergate.worker.batch-token-budget on stories260K. Reports the process's RSS before, its peak during each
 * generation (VmHWM, reset before each through /proc/self/clear_refs) and after. A main, not a test.
 * {@code -Dbench.promptTokens=448} sets P, {@code -Dbench.runs=3} the generations measured.
 */
public final class WorkerMemoryBench {

    private static final int ROWS = 32;

    public static void main(String[] args) throws Exception {
        Path dir = TestModel.dir();
        int promptTokens = Integer.getInteger("bench.promptTokens", 448);
        int runs = Integer.getInteger("bench.runs", 3);
        String story = String.join(" ", PromptSet.read(Path.of("policies/prompts/perplexity.jsonl")).texts());
        try (LlamaModel model = LlamaModel.load(dir, DeviceChoice.CPU)) {
            Generator generator = new Generator(model);
            int context = model.config().seqLen();
            int[] storyTokens = generator.encodePrompt(story.repeat(4));
            // the first P - 1 tokens after BOS, as text; its own encoding is the prompt's length
            String prompt = model.tokenizer().decode(1, Arrays.copyOfRange(storyTokens, 1, promptTokens)).strip();
            int p = generator.encodePrompt(prompt).length;
            int maxTokens = context - p;
            List<GenerationInput> rows = new ArrayList<>();
            for (int b = 0; b < ROWS; b++) {
                rows.add(new GenerationInput(prompt, maxTokens, 0.8f, 1f, b));
            }
            generator.generate(List.of(GenerationInput.greedy("Once upon a time", 8))); // warm up the engine
            System.out.printf(Locale.ROOT, "model %s, %d rows x (%d prompt + %d maxTokens) = %d tokens of budget%n",
                    model.name(), ROWS, p, maxTokens, ROWS * (p + maxTokens));
            for (int run = 1; run <= runs; run++) {
                long before = MemoryProbe.rssKb();
                boolean reset = MemoryProbe.resetPeak();
                long start = System.nanoTime();
                List<Completion> out = generator.generate(rows);
                double seconds = (System.nanoTime() - start) / 1e9;
                long peak = MemoryProbe.peakRssKb();
                long after = MemoryProbe.rssKb();
                int generated = out.stream().mapToInt(Completion::completionTokens).sum();
                System.out.printf(Locale.ROOT, "run %d: RSS before %d MB, peak %d MB%s (+%d MB), after %d MB; %d tokens"
                        + " generated in %.1f s%n", run, before / 1024, peak / 1024, reset ? "" : " (peak not reset)",
                        (peak - before) / 1024, after / 1024, generated, seconds);
            }
        }
    }
}
