package io.steergate.engine.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.steergate.engine.steering.AffineMap;

import org.junit.jupiter.api.Test;

/** The proximal steps of LinEAS on the reference vector of docs/steering-methods.md 7. */
class ProximalTest {

    private static final double TAU = 1e-3;

    @Test
    void l1SoftThresholdsTowardTheIdentity() {
        float[] omega = {1.3f, 0.999f, 1.0f, 0.8f};
        float[] beta = {0.2f, -0.0005f, 0f, -0.05f};
        Proximal.l1(omega, beta, TAU, 1, 1);
        assertArrayEquals(new float[] {1.299f, 1f, 1f, 0.801f}, omega, 1e-5f);
        assertArrayEquals(new float[] {0.199f, 0f, 0f, -0.049f}, beta, 1e-5f);
        // pruned neurons are exactly the identity, not merely close
        assertArrayEquals(new float[] {1f, 1f}, new float[] {omega[1], omega[2]}, 0f);
        assertArrayEquals(new float[] {0f, 0f}, new float[] {beta[1], beta[2]}, 0f);
    }

    @Test
    void sparseGroupIsL1ThenGroupShrinkage() {
        float[] omega = {1.3f, 0.999f, 1.0f, 0.8f};
        float[] beta = {0.2f, -0.0005f, 0f, -0.05f};
        Proximal.sparseGroup(omega, beta, TAU, 1, 0.5, 0.5);
        assertArrayEquals(new float[] {1.29817f, 1f, 1f, 0.80155f}, omega, 1e-5f);
        assertArrayEquals(new float[] {0.19803f, 0f, 0f, -0.04876f}, beta, 1e-5f);
        // the same in two explicit steps
        float[] w = {1.3f, 0.999f, 1.0f, 0.8f};
        float[] b = {0.2f, -0.0005f, 0f, -0.05f};
        Proximal.l1(w, b, TAU, 1, 1);
        Proximal.groupLasso(w, b, TAU, 0.5, 0.5);
        assertArrayEquals(omega, w, 0f);
        assertArrayEquals(beta, b, 0f);
    }

    @Test
    void aLargeGroupWeightZeroesTheWholeSiteAndAZeroGroupStaysZero() {
        float[] omega = {1.3f, 0.9f};
        float[] beta = {0f, 0f}; // ||β|| = 0: stays 0, no NaN
        Proximal.groupLasso(omega, beta, 1, 1, 1);
        assertArrayEquals(new float[] {1f, 1f}, omega, 0f);
        assertArrayEquals(new float[] {0f, 0f}, beta, 0f);
        // a shrunk negative shift is +0 (AffineMap.equals tells -0 from 0)
        float[] w1 = {1.5f};
        float[] b1 = {-0.5f};
        Proximal.groupLasso(w1, b1, 1, 1, 1);
        assertEquals(AffineMap.identity(1), AffineMap.of(w1, b1));
        // zero weights change nothing
        float[] w = {1.3f, 0.9f};
        float[] b = {0.1f, -0.2f};
        Proximal.sparseGroup(w, b, 1, 0, 0, 0);
        assertArrayEquals(new float[] {1.3f, 0.9f}, w, 0f);
        assertArrayEquals(new float[] {0.1f, -0.2f}, b, 0f);
        assertThrows(IllegalArgumentException.class, () -> Proximal.l1(new float[2], new float[3], 1, 1, 1));
    }

    @Test
    void aMetricIsParsedFromItsWireNameAndAnUnknownOneIsRefusedByName() {
        assertEquals(Proximal.Metric.LR, Proximal.Metric.parse("lr"));
        assertEquals(Proximal.Metric.ADAM, Proximal.Metric.parse("adam"));
        assertEquals(Proximal.Metric.ADAM_RELATIVE, Proximal.Metric.parse("adam-relative"));
        assertEquals("adam-relative", Proximal.Metric.ADAM_RELATIVE.wireName());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Proximal.Metric.parse("sgd"));
        assertEquals("proxMetric: must be lr, adam or adam-relative, got 'sgd'", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Proximal.Metric.parse("adam_relative"));
    }
}
