package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.steergate.bench.MemoryProbe;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Many generations keep native memory flat: every step's arrays die with the step's NDManager. */
class MemoryTest {

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
            long before = MemoryProbe.rssKb();
            long heapBefore = Runtime.getRuntime().totalMemory() / 1024;
            int generations = 150;
            int tokens = 0;
            for (int i = 0; i < generations; i++) {
                tokens += generator.generate(batch).stream().mapToInt(Completion::completionTokens).sum();
                if (i % 50 == 49) {
                    System.out.printf("MemoryTest: after %d RSS %d kB, heap committed %d kB%n", i + 1,
                            MemoryProbe.rssKb(), Runtime.getRuntime().totalMemory() / 1024);
                }
            }
            // the test JVM is shared with other test classes: a Java heap that grows meanwhile is in the RSS, not a leak
            long heapGrowthKb = Math.max(0, Runtime.getRuntime().totalMemory() / 1024 - heapBefore);
            long growthKb = MemoryProbe.rssKb() - before - heapGrowthKb;
            System.out.printf("MemoryTest: %d generations, %d tokens, RSS growth %d kB besides %d kB of Java heap%n",
                    generations, tokens, growthKb, heapGrowthKb);
            // the leak of DJL pitfall 1 (docs/architecture.md 5) grows ~1 MB per step; 200 x 48 steps would be gigabytes
            assertTrue(growthKb < 64 * 1024, "RSS grew by " + growthKb + " kB over " + generations + " generations");
        }
    }
}
