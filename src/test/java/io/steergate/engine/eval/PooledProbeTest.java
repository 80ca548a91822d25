package io.steergate.engine.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.steergate.engine.model.Completion;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.testing.TestModel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A probe read off a generation: the pooled vector the generator hands back is the mean worked out another way
 * ({@link OfflinePooling}, on stories260K), the probe's probability of it is the sigmoid of the dot product worked
 * out by hand, and pooling leaves the generated text as it was.
 */
class PooledProbeTest {

    private static final HookSite SITE = new HookSite(2, HookPoint.RESID);
    private static LlamaModel model;
    private static Generator generator;
    private static SteeringPlan kindness;

    @BeforeAll
    static void load() throws Exception {
        model = TestModel.load();
        generator = new Generator(model);
        kindness = SteeringPlan.of(InterventionFile.read(Path.of("policies/interventions/kindness.safetensors")), 1.0);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void theProbabilityOfAPooledVectorIsTheSigmoidOfTheStandardisedDotProduct() {
        LinearProbe probe = new LinearProbe(new float[] {1, -2}, new float[] {2, 4}, new float[] {0.5f, -1.5f}, 0.25);
        // z = 0.25 + 0.5 * (3 - 1) / 2 - 1.5 * (2 - -2) / 4 = 0.25 + 0.5 - 1.5 = -0.75
        assertEquals(1 / (1 + Math.exp(0.75)), probe.probability(new float[] {3, 2}), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> probe.probability(new float[] {1, 2, 3}));
    }

    @Test
    void pooledActivationsAreTheMeanOverTheGeneratedPositionsSteeredOrNot() {
        List<String> prompts = List.of("Tom was angry at his sister. He", "Once upon a time, a little cat");
        List<SteeringPlan> plans = List.of(kindness, SteeringPlan.NONE);
        List<GenerationInput> rows = List.of(GenerationInput.greedy(prompts.get(0), 20).withSteering(kindness),
                GenerationInput.greedy(prompts.get(1), 12));
        List<int[]> tokens = rows.stream().map(row -> generator.encodePrompt(row.prompt())).toList();
        List<Completion> plain = generator.generate(rows, tokens);
        List<Completion> pooled = generator.generate(rows, tokens, List.of(Set.of(SITE.index()), Set.of(SITE.index())));
        for (int b = 0; b < rows.size(); b++) {
            OfflinePooling.Reference reference = OfflinePooling.greedy(model, prompts.get(b), rows.get(b).maxTokens(),
                    plans.get(b), SITE);
            assertEquals(plain.get(b).text(), pooled.get(b).text(), "pooling changes no token");
            assertEquals(reference.text(), pooled.get(b).text(), "the reference decodes the same tokens");
            assertEquals(reference.generated().length, pooled.get(b).completionTokens());
            float[] online = pooled.get(b).pooled().get(SITE.index());
            assertArrayEquals(reference.pooled(), online, 2e-4f, "row " + b + ": " + Arrays.toString(online));
        }
        assertNotEquals(Arrays.toString(pooled.get(0).pooled().get(SITE.index())),
                Arrays.toString(pooled.get(1).pooled().get(SITE.index())));
        assertEquals(Set.of(), plain.get(0).pooled().keySet(), "nothing pooled unless asked");
    }

    @Test
    void aSiteTheModelDoesNotHaveIsRefused() {
        int beyond = model.config().nLayers() * io.steergate.engine.model.SiteHook.POINTS;
        assertThrows(IllegalArgumentException.class, () -> generator.generate(List.of(GenerationInput.greedy("Hi", 2)),
                List.of(generator.encodePrompt("Hi")), List.of(Set.of(beyond))));
    }
}
