package io.steergate.engine.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Wasserstein-1 on hand-computed samples. */
class WassersteinTest {

    @Test
    void equalCountsMatchSortedSamples() {
        // sorted [1, 2, 3] vs [0, 1, 4]: (1 + 1 + 1) / 3
        assertEquals(1.0, Wasserstein.distance(new float[] {3, 1, 2}, new float[] {0, 4, 1}), 1e-12);
        assertEquals(0.0, Wasserstein.distance(new float[] {2, 1}, new float[] {1, 2}), 0.0);
        // a shift by c costs |c|
        assertEquals(2.5, Wasserstein.distance(new float[] {0, 1, 5}, new float[] {2.5f, 3.5f, 7.5f}), 1e-12);
    }

    @Test
    void unequalCountsCompareAtCommonQuantileLevels() {
        // n = 4, q = 1/8, 3/8, 5/8, 7/8; [0, 2] read at positions q*2 - 0.5 = -1/4, 1/4, 3/4, 5/4 (clamped to
        // 0, 1/4, 3/4, 1) gives 0, 0.5, 1.5, 2 against [0, 1, 2, 3]: (0 + 0.5 + 0.5 + 1) / 4
        assertEquals(0.5, Wasserstein.distance(new float[] {3, 1, 2, 0}, new float[] {2, 0}), 1e-12);
        assertEquals(0.5, Wasserstein.distance(new float[] {2, 0}, new float[] {3, 1, 2, 0}), 1e-12);
        // n = 3: [0, 10] read at positions -1/6, 1/2, 7/6 gives 0, 5, 10, the same as [0, 5, 10]
        assertEquals(0.0, Wasserstein.distance(new float[] {0, 10}, new float[] {0, 5, 10}), 1e-12);
        // a single value against [0, 2, 4]: (1 + 1 + 3) / 3
        assertEquals(5.0 / 3, Wasserstein.distance(new float[] {1}, new float[] {4, 0, 2}), 1e-12);
    }

    @Test
    void perNeuronAndSiteMeanUseColumns() {
        float[][] a = {{0, 1}, {2, 3}};
        float[][] b = {{1, 1}, {1, 7}, {1, 1}};
        // neuron 0: [0, 2] vs [1, 1, 1] -> n = 3, [0, 2] at positions 0, 0.5, 1 = 0, 1, 2 -> (1 + 0 + 1) / 3
        // neuron 1: [1, 3] vs [1, 1, 7] -> [1, 2, 3] vs [1, 1, 7] -> (0 + 1 + 4) / 3
        assertArrayEquals(new double[] {2.0 / 3, 5.0 / 3}, Wasserstein.perNeuron(a, b), 1e-12);
        assertEquals(7.0 / 6, Wasserstein.siteMean(a, b), 1e-12);
    }

    @Test
    void rejectsEmptyRaggedMismatchedAndNonFinite() {
        assertThrows(IllegalArgumentException.class, () -> Wasserstein.distance(new float[0], new float[] {1}));
        assertThrows(IllegalArgumentException.class,
                () -> Wasserstein.distance(new float[] {Float.NaN}, new float[] {1}));
        assertThrows(IllegalArgumentException.class, () -> Wasserstein.siteMean(new float[0][2], new float[][] {{1}}));
        assertThrows(IllegalArgumentException.class,
                () -> Wasserstein.siteMean(new float[][] {{1, 2}, {1}}, new float[][] {{1, 2}}));
        assertThrows(IllegalArgumentException.class,
                () -> Wasserstein.siteMean(new float[][] {{1, 2}}, new float[][] {{1, 2, 3}}));
    }
}
