package io.steergate.bench;

import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.HfTokenizer;
import io.steergate.engine.model.LlamaTokenizer;
import io.steergate.engine.model.QuadraticBpe;
import io.steergate.testing.TestModel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.ToIntFunction;

/**
 * Time to tokenize 1k, 8k and 64k characters of story text (the perplexity prompts, joined and repeated) with
 * tok512.bin: run.c's quadratic merge loop as first ported ({@link QuadraticBpe}, "before"), the O(n log n)
 * {@link LlamaTokenizer} ("after"), the Hugging Face rendering of the same vocabulary (tokenizer.json through DJL's
 * Rust binding), and the cheap bound {@link LlamaTokenizer#minTokens}. Each encoder's tokens are checked equal to
 * the reference's. Median of several runs after warm-up; the quadratic encoder runs fewer times on the longer
 * texts, and at 64k only once, or not at all with {@code -Dbench.quadratic64k=false}. A main, not a test.
 */
public final class TokenizerBench {

    private static final int[] SIZES = {1_000, 8_000, 64_000};

    public static void main(String[] args) throws Exception {
        Path dir = TestModel.dir();
        boolean quadratic64k = Boolean.parseBoolean(System.getProperty("bench.quadratic64k", "true"));
        LlamaTokenizer fast = LlamaTokenizer.read(dir.resolve("tok512.bin"), 512);
        QuadraticBpe runC = QuadraticBpe.read(dir.resolve("tok512.bin"), 512);
        String story = String.join(" ", PromptSet.read(Path.of("policies/prompts/perplexity.jsonl")).texts());
        try (HfTokenizer hf = HfTokenizer.read(dir.resolve("tokenizer.json"), 1, 2, 512)) {
            System.out.printf(Locale.ROOT, "%-7s %-26s %7s %12s %12s %12s%n", "chars", "encoder", "tokens", "median ms",
                    "min ms", "runs");
            for (int size : SIZES) {
                String text = story.repeat(size / story.length() + 1).substring(0, size);
                int[] expected = fast.encode(text);
                int runs = size <= 1_000 ? 5 : size <= 8_000 ? 3 : 1;
                if (size < 64_000 || quadratic64k) {
                    int[] reference = runC.encode(text);
                    check(reference, expected, "O(n log n)", size);
                    int warmups = size < 64_000 ? 1 : 0;
                    time(size, "before: run.c quadratic", t -> runC.encode(t).length, text, warmups, runs);
                }
                time(size, "after: O(n log n)", t -> fast.encode(t).length, text, 200, 21);
                check(expected, hf.encode(text), "tokenizer.json", size);
                time(size, "tokenizer.json (Rust)", t -> hf.encode(t).length, text, 50, 21);
                timeBound(size, fast, text, expected.length);
            }
        }
    }

    private static void time(int size, String what, ToIntFunction<String> encoder, String text, int warmups,
            int runs) {
        int tokens = 0;
        for (int i = 0; i < warmups; i++) {
            tokens = encoder.applyAsInt(text);
        }
        double[] ms = new double[runs];
        for (int r = 0; r < runs; r++) {
            long start = System.nanoTime();
            tokens = encoder.applyAsInt(text);
            ms[r] = (System.nanoTime() - start) / 1e6;
        }
        Arrays.sort(ms);
        System.out.printf(Locale.ROOT, "%-7d %-26s %7d %12.3f %12.3f %12d%n", size, what, tokens, ms[runs / 2], ms[0],
                runs);
    }

    private static void timeBound(int size, LlamaTokenizer tokenizer, String text, int tokens) {
        time(size, "minTokens (bound)", tokenizer::minTokens, text, 2000, 21);
        System.out.printf(Locale.ROOT, "%-7d %-26s bound %d of %d tokens%n", size, "", tokenizer.minTokens(text),
                tokens);
    }

    private static void check(int[] expected, int[] actual, String what, int size) {
        if (!Arrays.equals(expected, actual)) {
            throw new IllegalStateException(what + " differs from the reference at " + size + " chars, token "
                    + Arrays.mismatch(expected, actual));
        }
    }
}
