package io.steergate.engine.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The DSAS gate fit: a logistic regression that separates what is separable, the same for the same seed. */
class TokenGatesTest {

    @Test
    void separatesATriviallySeparableSet() {
        Random random = new Random(1);
        float[][] source = rows(random, 40, 3f); // feature 1 around +3, the rest noise
        float[][] control = rows(random, 40, -3f);
        TokenGates.Gate gate = TokenGates.fit(source, control, TokenGates.Options.defaults());
        assertEquals(1.0, gate.trainAccuracy());
        assertEquals(1.0, gate.heldOutAccuracy());
        float[] on = new float[5];
        on[1] = 3f;
        float[] off = new float[5];
        off[1] = -3f;
        assertTrue(TokenGates.factor(gate, on) > 0.75f, "open on a source-like activation (L2 keeps it from saturating)");
        assertTrue(TokenGates.factor(gate, off) < 0.25f, "closed on a control-like activation");
        assertTrue(Math.abs(gate.weights()[1]) > 5 * Math.abs(gate.weights()[0]), "the separating feature dominates");
    }

    @Test
    void isDeterministicPerSeed() {
        float[][] source = rows(new Random(2), 30, 0.5f);
        float[][] control = rows(new Random(3), 30, -0.5f);
        TokenGates.Options seed7 = new TokenGates.Options(0.1, 200, 0.5, 0.2, 7);
        TokenGates.Gate a = TokenGates.fit(source, control, seed7);
        TokenGates.Gate b = TokenGates.fit(source, control, seed7);
        assertArrayEquals(a.weights(), b.weights(), 0f);
        assertEquals(a.bias(), b.bias(), 0f);
        TokenGates.Gate other = TokenGates.fit(source, control, new TokenGates.Options(0.1, 200, 0.5, 0.2, 8));
        assertFalse(java.util.Arrays.equals(a.weights(), other.weights()), "another seed holds out other rows");
    }

    @Test
    void refusesTooFewRowsAndABadHeldOutShare() {
        assertThrows(IllegalArgumentException.class, () -> TokenGates.fit(new float[][] {{1}}, new float[][] {{0},
                {1}}, TokenGates.Options.defaults()));
        assertThrows(IllegalArgumentException.class, () -> new TokenGates.Options(0.1, 10, 0.5, 0.6, 0));
    }

    @Test
    void gatesEverySiteOfAMapOnTheRealModel() throws IOException {
        List<String> source = PromptSet.read(Path.of("policies/prompts/no-dogs.source.jsonl")).texts().subList(0, 12);
        List<String> control = PromptSet.read(Path.of("policies/prompts/no-dogs.target.jsonl")).texts().subList(0, 12);
        try (LlamaModel model = TestModel.load()) {
            int dim = model.config().dim();
            TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
            for (String site : List.of("layers.1.attn_out", "layers.3.mlp_out")) {
                float[] omega = new float[dim];
                java.util.Arrays.fill(omega, 1.1f);
                maps.put(HookSite.parse(site), AffineMap.of(omega, new float[dim]));
            }
            Intervention map = new Intervention("no-dogs", Intervention.LINEAS, model.fingerprint(), "dogs", Map.of(),
                    maps);
            Intervention gated = TokenGates.gate(model, map, source, control, TokenGates.Options.defaults(),
                    Map.of("source_sha256", "ab"));
            assertEquals(map.maps().keySet(), gated.maps().keySet());
            gated.maps().values().forEach(m -> assertTrue(m.isGated()));
            assertTrue(gated.metadata().get("gate").contains("\"method\":\"dsas-logistic\""));
            assertTrue(gated.metadata().get("gate").contains("\"source_sha256\":\"ab\""));
            assertEquals(gated, InterventionFile.read(InterventionFile.write(gated), model.config(),
                    model.fingerprint()));
            assertEquals(gated, TokenGates.gate(model, map, source, control, TokenGates.Options.defaults(),
                    Map.of("source_sha256", "ab")), "the same prompts and seed give the same gates");
            assertThrows(IllegalArgumentException.class, () -> TokenGates.gate(model, gated, source, control,
                    TokenGates.Options.defaults(), Map.of()));

            // gates fitted where the prompts end: the regression on each prompt's last token, and the metadata says so
            Intervention lastToken = TokenGates.gate(model, map, source, control, TokenGates.Options.defaults(), Map.of(),
                    ActivationCollector.Pooling.LAST);
            ActivationCollector last = new ActivationCollector(model, 8, ActivationCollector.Pooling.LAST);
            HookSite site = HookSite.parse("layers.3.mlp_out");
            TokenGates.Gate expected = TokenGates.fit(last.collect(source, List.of(site), null).get(site),
                    last.collect(control, List.of(site), null).get(site), TokenGates.Options.defaults());
            assertArrayEquals(expected.weights(), lastToken.maps().get(site).gate());
            assertEquals(expected.bias(), lastToken.maps().get(site).gateBias());
            assertTrue(lastToken.metadata().get("gate").contains("\"pooling\":\"last\""));
            assertTrue(lastToken.metadata().get("gate").contains("regression on last-token clean activations"),
                    lastToken.metadata().get("gate"));
            assertFalse(gated.metadata().get("gate").contains("pooling"), "mean-pooled gates keep their metadata");
            assertTrue(gated.metadata().get("gate").contains("regression on mean-pooled clean activations"));
        }
    }

    @Test
    void opennessIsOneForAnOpenGateAndZeroForAClosedOne() throws IOException {
        List<String> prompts = List.of("The dog ran to the park.", "Lily saw a cat and smiled at it.");
        try (LlamaModel model = TestModel.load()) {
            int dim = model.config().dim();
            float[] omega = new float[dim];
            java.util.Arrays.fill(omega, 1.1f);
            AffineMap plain = AffineMap.of(omega, new float[dim]);
            TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
            maps.put(HookSite.parse("layers.1.attn_out"), plain.gated(new float[dim], 40f));
            maps.put(HookSite.parse("layers.2.resid"), plain.gated(new float[dim], -40f));
            Intervention gated = new Intervention("t", Intervention.LINEAS, model.fingerprint(), "", Map.of(), maps);
            Map<HookSite, Double> open = TokenGates.openness(model, gated, prompts, 1);
            assertEquals(1.0, open.get(HookSite.parse("layers.1.attn_out")), 1e-6);
            assertEquals(0.0, open.get(HookSite.parse("layers.2.resid")), 1e-6);
        }
    }

    /** n rows of width 5: feature 1 at {@code centre} plus noise 0.3, the others standard noise. */
    private static float[][] rows(Random random, int n, float centre) {
        float[][] out = new float[n][5];
        for (float[] row : out) {
            for (int j = 0; j < 5; j++) {
                row[j] = (float) random.nextGaussian();
            }
            row[1] = centre + 0.3f * (float) random.nextGaussian();
        }
        return out;
    }
}
