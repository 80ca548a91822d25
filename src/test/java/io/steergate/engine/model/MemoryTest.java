package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.steergate.bench.MemoryProbe;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Many generations keep native memory flat: every step's arrays die with the step's NDManager. */
class MemoryTest {

    private static final int WINDOWS = 5;
    private static final int GENERATIONS_PER_WINDOW = 30;

    @Test
    void rssStaysFlatOverManyGenerations() throws IOException {
        assumeTrue(MemoryProbe.rssKb() > 0, "no /proc/self/status");
        try (LlamaModel model = TestModel.load()) {
            Generator generator = new Generator(model);
            List<GenerationInput> batch = List.of(
                    new GenerationInput("Once upon a time", 48, 0.9f, 0.95f, 1L),
                    new GenerationInput("The dog", 48, 0.9f, 1f, 2L),
                    GenerationInput.greedy("Lily and Tom went to the park to play with a red ball", 48),
                    GenerationInput.greedy("", 48));
            for (int i = 0; i < 60; i++) {
                generator.generate(batch); // warm up the JIT, the Java heap and the allocator pools
            }
            // The test JVM is shared with other test classes (Quarkus applications that just stopped, their clients'
            // threads, the JIT compiling their code): the process RSS can jump once by 100 MB for reasons of its own
            // (a clean-clone CI run saw it). A leak grows in every window alike, so the median window is judged.
            long[] growthKb = new long[WINDOWS];
            int tokens = 0;
            for (int w = 0; w < WINDOWS; w++) {
                long before = MemoryProbe.rssKb();
                long heapBefore = Runtime.getRuntime().totalMemory() / 1024;
                for (int i = 0; i < GENERATIONS_PER_WINDOW; i++) {
                    tokens += generator.generate(batch).stream().mapToInt(Completion::completionTokens).sum();
                }
                // a Java heap that grows meanwhile is in the RSS, not a native leak
                long heapGrowthKb = Math.max(0, Runtime.getRuntime().totalMemory() / 1024 - heapBefore);
                growthKb[w] = MemoryProbe.rssKb() - before - heapGrowthKb;
            }
            long[] sorted = growthKb.clone();
            Arrays.sort(sorted);
            long medianKb = sorted[WINDOWS / 2];
            System.out.printf("MemoryTest: %d windows of %d generations, %d tokens, RSS growth per window %s kB%n",
                    WINDOWS, GENERATIONS_PER_WINDOW, tokens, Arrays.toString(growthKb));
            // the leak of DJL pitfall 1 (docs/architecture.md 5) grows ~1 MB per step: 30 x 48 steps per window would be
            // over a gigabyte; 16 MB per window catches any leak above ~11 kB per step
            assertTrue(medianKb < 16 * 1024, "RSS grew by " + Arrays.toString(growthKb) + " kB in windows of "
                    + GENERATIONS_PER_WINDOW + " generations (median " + medianKb + " kB)");
        }
    }
}
