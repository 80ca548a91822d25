package io.steergate.engine.steering;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.engine.model.HookStage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Token-gated maps (DSAS): their place in a plan, their file tensors, and what a file with gates must satisfy. */
class GatedMapTest {

    private static final String FINGERPRINT = "sha256:b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696";
    private static final HookSite RESID = HookSite.parse("layers.0.resid");
    private static final HookSite MLP = HookSite.parse("layers.1.mlp_out");

    @Test
    void aGatedMapIsAStageOfItsOwnInPlanOrder() {
        Random random = new Random(1);
        AffineMap a = plain(random, 4);
        AffineMap b = plain(random, 4).gated(gaussian(random, 4), 0.3f);
        AffineMap c = plain(random, 4);
        AffineMap d = plain(random, 4);
        List<SteeringPlan.Step> steps = List.of(new SteeringPlan.Step(one(a), 0.5), new SteeringPlan.Step(one(b), 2),
                new SteeringPlan.Step(one(c), 1), new SteeringPlan.Step(one(d), 0.7));
        SteeringPlan folded = SteeringPlan.compose(steps);
        List<HookStage> stages = folded.stages().get(RESID);
        assertEquals(3, stages.size(), "a, then b gated on its own, then c and d folded");
        assertFalse(stages.get(0).isGated());
        assertTrue(stages.get(1).isGated());
        assertArrayEquals(b.gate(), stages.get(1).gate());
        assertEquals(0.3f, stages.get(1).gateBias());
        assertFalse(stages.get(2).isGated());
        float[] x = gaussian(random, 4);
        assertArrayEquals(SteeringPlan.sequential(steps).apply(RESID, x), folded.apply(RESID, x), 1e-5f);
        // the scalar reference: a at 0.5, then b at 2 with its gate read from a's output, then c, then d
        float[] y = d.apply(c.apply(b.apply(a.apply(x, 0.5), 2), 1), 0.7);
        assertArrayEquals(y, folded.apply(RESID, x), 1e-5f);
    }

    @Test
    void theStrengthScalesTheGatedStep() {
        Random random = new Random(2);
        AffineMap map = plain(random, 3).gated(new float[] {0.2f, -0.1f, 0.4f}, -0.2f);
        float[] x = {0.7f, -1.2f, 0.3f};
        double dot = -0.2 + 0.2 * 0.7 + 0.1 * 1.2 + 0.4 * 0.3;
        double g = 1 / (1 + Math.exp(-dot));
        float[] expected = new float[3];
        for (int i = 0; i < 3; i++) {
            expected[i] = (float) (x[i] + g * 1.5 * (map.omega()[i] * x[i] + map.beta()[i] - x[i]));
        }
        assertArrayEquals(expected, map.apply(x, 1.5), 1e-6f);
        assertArrayEquals(expected, SteeringPlan.of(one(map), 1.5).apply(RESID, x), 1e-5f);
        assertArrayEquals(expected, map.scaled(1.5).apply(x, 1), 1e-5f, "scaling keeps the gate");
    }

    @Test
    void gatesRoundTripThroughTheFileAndUngatedFilesHaveNoGateTensors() {
        Random random = new Random(4);
        AffineMap r = plain(random, 64);
        AffineMap m = new AffineMap(plain(random, 64).omega(), gaussian(random, 64), fill(64, -1f), fill(64, 1f));
        Intervention ungated = intervention(Map.of(RESID, r, MLP, m), Map.of());
        byte[] plainBytes = InterventionFile.write(ungated);
        assertFalse(new String(plainBytes, java.nio.charset.StandardCharsets.ISO_8859_1).contains(".gate"));
        assertNull(InterventionFile.read(plainBytes).maps().get(RESID).gate());

        Intervention gated = intervention(Map.of(RESID, r.gated(gaussian(random, 64), 1.25f),
                MLP, m.gated(gaussian(random, 64), -0.5f)), Map.of("gate", "{\"method\":\"dsas-logistic\"}"));
        byte[] bytes = InterventionFile.write(gated);
        Intervention read = InterventionFile.read(bytes);
        assertEquals(gated, read);
        assertEquals(1.25f, read.maps().get(RESID).gateBias());
        assertEquals("{\"method\":\"dsas-logistic\"}", read.metadata().get("gate"));
        assertArrayEquals(bytes, InterventionFile.write(read));
    }

    @Test
    void refusesAGateWithoutItsBiasOrTheOtherWayRound() {
        assertRefused(tensors("layers.0.resid.gate", new float[] {1, 2}), "needs both layers.0.resid.gate and "
                + "layers.0.resid.gate_bias");
        assertRefused(tensors("layers.0.resid.gate_bias", new float[] {1}), "needs both layers.0.resid.gate and "
                + "layers.0.resid.gate_bias");
    }

    @Test
    void refusesWrongLengths() {
        assertRefused(tensors("layers.0.resid.gate", new float[] {1, 2, 3}, "layers.0.resid.gate_bias",
                new float[] {0}), "site layers.0.resid: gate has 3 values; omega has 2");
        assertRefused(tensors("layers.0.resid.gate", new float[] {1, 2}, "layers.0.resid.gate_bias",
                new float[] {0, 1}), "tensor 'layers.0.resid.gate_bias' has 2 values; a gate bias is one value");
    }

    @Test
    void refusesNaNAndInfinityInAGate() {
        assertRefused(tensors("layers.0.resid.gate", new float[] {1, Float.NaN}, "layers.0.resid.gate_bias",
                new float[] {0}), "tensor 'layers.0.resid.gate' holds NaN at index 1");
        assertRefused(tensors("layers.0.resid.gate", new float[] {1, 2}, "layers.0.resid.gate_bias",
                new float[] {Float.NEGATIVE_INFINITY}), "tensor 'layers.0.resid.gate_bias' holds -Infinity at index 0");
    }

    @Test
    void refusesAGateOnSomeSitesOfAMapButNotAll() {
        Map<String, float[]> t = tensors("layers.0.resid.gate", new float[] {1, 2}, "layers.0.resid.gate_bias",
                new float[] {0});
        t.put("layers.1.resid.omega", new float[] {1, 1});
        t.put("layers.1.resid.beta", new float[] {0, 0});
        assertRefused(t, "gates on sites layers.0.resid but not on layers.1.resid: a gated map has a gate on every "
                + "site");
    }

    @Test
    void refusesAGateBiasWithoutAGateInMemory() {
        assertThrows(IllegalArgumentException.class, () -> new AffineMap(new float[] {1}, new float[] {0}, null, null,
                null, 1f));
        assertThrows(IllegalArgumentException.class, () -> new AffineMap(new float[] {1}, new float[] {0}, null, null,
                new float[] {1}, Float.NaN));
    }

    /** A map of width 2 at layers.0.resid (omega 2 1, beta 0.5 -0.5) plus the given tensors. */
    private static Map<String, float[]> tensors(Object... more) {
        Map<String, float[]> t = new TreeMap<>();
        t.put("layers.0.resid.omega", new float[] {2, 1});
        t.put("layers.0.resid.beta", new float[] {0.5f, -0.5f});
        for (int i = 0; i < more.length; i += 2) {
            t.put((String) more[i], (float[]) more[i + 1]);
        }
        return t;
    }

    private static void assertRefused(Map<String, float[]> tensors, String part) {
        byte[] bytes = file(tensors);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InterventionFile.read(bytes));
        assertTrue(e.getMessage().contains(part), "'" + e.getMessage() + "' should contain '" + part + "'");
    }

    /** A safetensors file holding {@code tensors} as given, with the metadata of a steergate map and no sites key. */
    private static byte[] file(Map<String, float[]> tensors) {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("__metadata__", Map.of("format", InterventionFile.FORMAT, "name", "t", "method", "LINEAS",
                "model_fingerprint", FINGERPRINT));
        long offset = 0;
        for (Map.Entry<String, float[]> e : tensors.entrySet()) {
            long bytes = 4L * e.getValue().length;
            header.put(e.getKey(), Map.of("dtype", "F32", "shape", List.of(e.getValue().length), "data_offsets",
                    List.of(offset, offset + bytes)));
            offset += bytes;
        }
        try {
            byte[] json = new ObjectMapper().writeValueAsBytes(header);
            int padded = (json.length + 7) / 8 * 8;
            ByteBuffer out = ByteBuffer.allocate(8 + padded + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
            out.putLong(padded).put(json);
            while (out.position() < 8 + padded) {
                out.put((byte) ' ');
            }
            tensors.values().forEach(v -> {
                for (float f : v) {
                    out.putFloat(f);
                }
            });
            return out.array();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Intervention one(AffineMap map) {
        return intervention(Map.of(RESID, map), Map.of());
    }

    private static Intervention intervention(Map<HookSite, AffineMap> maps, Map<String, String> metadata) {
        return new Intervention("t", Intervention.LINEAS, FINGERPRINT, "c", metadata, new TreeMap<>(maps));
    }

    private static AffineMap plain(Random random, int width) {
        float[] omega = new float[width];
        float[] beta = new float[width];
        for (int i = 0; i < width; i++) {
            omega[i] = 1 + 0.3f * (float) random.nextGaussian();
            beta[i] = 0.3f * (float) random.nextGaussian();
        }
        return AffineMap.of(omega, beta);
    }

    private static float[] gaussian(Random random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = 0.5f * (float) random.nextGaussian();
        }
        return out;
    }

    private static float[] fill(int n, float v) {
        float[] out = new float[n];
        java.util.Arrays.fill(out, v);
        return out;
    }
}
