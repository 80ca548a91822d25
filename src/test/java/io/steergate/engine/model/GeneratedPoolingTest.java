package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The pooling arithmetic on synthetic activations, against means worked out by hand. */
class GeneratedPoolingTest {

    @Test
    void eachRowAveragesTheStepsThatEmittedItsTokensAtItsOwnSites() {
        // row 0 pools site 4 (width 2) and site 9 (width 3); row 1 site 4 only; row 2 nothing
        GeneratedPooling pooling = new GeneratedPooling(Arrays.asList(Set.of(4, 9), Set.of(4), null),
                site -> site == 4 ? 2 : 3);
        assertEquals(Set.of(4, 9), pooling.sites());
        // step 1 (prefill's last column): every row emits
        pooling.observe(4, new float[] {1, 2, 10, 20, 100, 200});
        pooling.observe(9, new float[] {1, 1, 1, 5, 5, 5, 9, 9, 9});
        pooling.emitted(new boolean[] {true, true, true});
        // step 2: row 1 stopped (EOS), so this step adds nothing to it
        pooling.observe(4, new float[] {3, 4, -99, -99, 0, 0});
        pooling.observe(9, new float[] {2, 4, 6, -99, -99, -99, 0, 0, 0});
        pooling.emitted(new boolean[] {true, false, true});
        // step 3: row 0 emits again
        pooling.observe(4, new float[] {5, 9, -99, -99, 0, 0});
        pooling.observe(9, new float[] {3, 1, 2, -99, -99, -99, 0, 0, 0});
        pooling.emitted(new boolean[] {true, false, false});

        assertArrayEquals(new float[] {(1 + 3 + 5) / 3f, (2 + 4 + 9) / 3f}, pooling.means(0).get(4), 1e-6f);
        assertArrayEquals(new float[] {(1 + 2 + 3) / 3f, (1 + 4 + 1) / 3f, (1 + 6 + 2) / 3f}, pooling.means(0).get(9), 1e-6f);
        assertArrayEquals(new float[] {10, 20}, pooling.means(1).get(4), 0f);
        assertEquals(Set.of(4), pooling.means(1).keySet());
        assertTrue(pooling.means(2).isEmpty(), "a row that asked for nothing has nothing");
    }

    @Test
    void aRowThatGeneratedNothingHasNoMean() {
        GeneratedPooling pooling = new GeneratedPooling(List.of(Set.of(0)), site -> 1);
        pooling.observe(0, new float[] {7});
        pooling.emitted(new boolean[] {false});
        assertTrue(pooling.means(0).isEmpty());
        assertThrows(IllegalArgumentException.class, () -> pooling.observe(0, new float[] {1, 2}));
    }

    @Test
    void nothingAskedIsEmpty() {
        assertTrue(new GeneratedPooling(Arrays.asList(null, Set.of()), site -> 1).isEmpty());
    }
}
