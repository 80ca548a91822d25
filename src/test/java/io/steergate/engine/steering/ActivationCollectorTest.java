package io.steergate.engine.steering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.model.PromptBatch;
import io.steergate.engine.model.SiteHook;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Pooled activations: padding excluded, BOS included, taken after the site's own map; last-token pooling takes each
 * prompt's own last token however the batch pads it.
 */
class ActivationCollectorTest {

    private static LlamaModel model;

    @BeforeAll
    static void load() throws IOException {
        model = TestModel.load();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void poolingExcludesPaddingAPromptPoolsTheSameAloneAndInABatch() {
        List<HookSite> sites = List.of(HookSite.parse("layers.0.attn_norm"), HookSite.parse("layers.2.mlp_out"),
                HookSite.parse("layers.4.resid"));
        String shortPrompt = "Tom and Sue";
        List<String> batch = List.of("The little dog was very sad because his ball was lost in the tall grass",
                shortPrompt, "Once upon a time, there was a girl");
        Map<HookSite, float[][]> alone = new ActivationCollector(model, 1).collect(List.of(shortPrompt), sites, null);
        Map<HookSite, float[][]> together = new ActivationCollector(model, 3).collect(batch, sites, null);
        for (HookSite site : sites) {
            assertClose(alone.get(site)[0], together.get(site)[1], 1e-5f, site.name());
        }
        // chunks of 2 give the same as one batch of 3
        Map<HookSite, float[][]> chunked = new ActivationCollector(model, 2).collect(batch, sites, null);
        for (HookSite site : sites) {
            for (int i = 0; i < batch.size(); i++) {
                assertClose(together.get(site)[i], chunked.get(site)[i], 1e-5f, site.name() + " prompt " + i);
            }
        }
    }

    @Test
    void poolingIncludesBosAndIsTheMeanOverTokens() {
        HookSite site = HookSite.parse("layers.1.resid");
        String prompt = "Once upon a time";
        int[] tokens = model.tokenizer().encode(prompt);
        assertEquals(model.tokenizer().bos(), tokens[0]);
        float[] all;
        try (NDManager step = model.newSubManager()) {
            model.lendWeights(step);
            PromptBatch batch = PromptBatch.of(step, new int[][] {tokens});
            SiteHook[] hooks = new SiteHook[model.config().nLayers() * SiteHook.POINTS];
            NDArray[] seen = new NDArray[1];
            hooks[site.index()] = x -> {
                seen[0] = x;
                return x;
            };
            model.forwardPrompts(batch, hooks, 2);
            all = seen[0].toFloatArray(); // (1, T, dim)
        }
        int dim = model.config().dim();
        int t = tokens.length;
        float[] withBos = new float[dim];
        float[] withoutBos = new float[dim];
        for (int k = 0; k < dim; k++) {
            for (int i = 0; i < t; i++) {
                withBos[k] += all[i * dim + k] / t;
                if (i > 0) {
                    withoutBos[k] += all[i * dim + k] / (t - 1);
                }
            }
        }
        float[] pooled = new ActivationCollector(model, 4).collect(List.of(prompt), List.of(site), null).get(site)[0];
        assertClose(withBos, pooled, 1e-5f, "mean with BOS");
        float diff = 0;
        for (int k = 0; k < dim; k++) {
            diff = Math.max(diff, Math.abs(withoutBos[k] - pooled[k]));
        }
        assertTrue(diff > 1e-3f, "BOS changes the mean");
    }

    @Test
    void lastTokenPoolingTakesEachPromptsLastTokenAloneAndInABatch() {
        HookSite site = HookSite.parse("layers.3.resid");
        String prompt = "Once upon a time";
        int[] tokens = model.tokenizer().encode(prompt);
        float[] all;
        try (NDManager step = model.newSubManager()) {
            model.lendWeights(step);
            SiteHook[] hooks = new SiteHook[model.config().nLayers() * SiteHook.POINTS];
            NDArray[] seen = new NDArray[1];
            hooks[site.index()] = x -> {
                seen[0] = x;
                return x;
            };
            model.forwardPrompts(PromptBatch.of(step, new int[][] {tokens}), hooks, 4);
            all = seen[0].toFloatArray(); // (1, T, dim)
        }
        int dim = model.config().dim();
        float[] last = java.util.Arrays.copyOfRange(all, (tokens.length - 1) * dim, tokens.length * dim);
        // the prompt is the shortest of its batch: padded on the left, its last token is still the batch's last column
        List<String> batch = List.of("The little dog was very sad because his ball was lost", prompt, "A cat sat");
        float[][] pooled = new ActivationCollector(model, 3, ActivationCollector.Pooling.LAST).collect(batch,
                List.of(site), null).get(site);
        assertClose(last, pooled[1], 1e-5f, "the last token's activation");
        float[] mean = new ActivationCollector(model, 3).collect(batch, List.of(site), null).get(site)[1];
        float diff = 0;
        for (int k = 0; k < dim; k++) {
            diff = Math.max(diff, Math.abs(mean[k] - pooled[1][k]));
        }
        assertTrue(diff > 1e-3f, "the last token is not the mean");
    }

    @Test
    void theSitesOwnMapIsAppliedBeforePooling() {
        HookSite site = HookSite.parse("layers.0.attn_norm");
        float[] omega = new float[model.config().dim()];
        float[] beta = new float[model.config().dim()];
        java.util.Arrays.fill(omega, 2f);
        java.util.Arrays.fill(beta, 0.5f);
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        maps.put(site, AffineMap.of(omega, beta));
        SteeringPlan plan = SteeringPlan.of(new Intervention("double", Intervention.MEAN_SHIFT, model.fingerprint(), "", Map.of(),
                maps), 1.0);
        List<String> prompts = List.of("A cat", "The sun was hot and the birds sang");
        float[][] clean = new ActivationCollector(model, 2).collect(prompts, List.of(site), null).get(site);
        float[][] steered = new ActivationCollector(model, 2).collect(prompts, List.of(site), plan).get(site);
        for (int i = 0; i < prompts.size(); i++) {
            float[] expected = new float[clean[i].length];
            for (int k = 0; k < expected.length; k++) {
                expected[k] = 2 * clean[i][k] + 0.5f;
            }
            assertClose(expected, steered[i], 1e-5f, "prompt " + i);
        }
    }

    static void assertClose(float[] expected, float[] actual, float tolerance, String what) {
        assertEquals(expected.length, actual.length, what);
        float worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= tolerance, what + ": largest difference " + worst);
    }
}
