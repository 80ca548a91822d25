package io.steergate.engine.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LinearProbeTest {

    // positive rows at x0 = 1, 3; negative at -1, -3; x1 is constant 10 (carries nothing)
    private static final float[][] POSITIVE = {{1, 10}, {3, 10}};
    private static final float[][] NEGATIVE = {{-1, 10}, {-3, 10}};

    @Test
    void standardisesWithTheTrainingMeanAndDeviation() {
        LinearProbe probe = LinearProbe.fit(POSITIVE, NEGATIVE, new LinearProbe.Options(1, 1.0, 0));
        assertArrayEquals(new float[] {0, 10}, probe.mean());
        // sd of {1, 3, -1, -3} = sqrt(20 / 4); a constant feature keeps scale 1 instead of dividing by zero
        assertArrayEquals(new float[] {(float) Math.sqrt(5), 1}, probe.scale(), 1e-6f);
    }

    @Test
    void oneGradientStepMatchesTheHandComputedStep() {
        // from w = 0 every p is 1/2; z = x0 / sqrt(5); each row weighs 1/4 (half a class of two):
        // dL/dw0 = 1/4 * [(-1/2)(1 + 3) + (1/2)(-1 - 3)] / sqrt(5) = -1/sqrt(5); dL/db = 0; dL/dw1 = 0 (z1 = 0)
        LinearProbe probe = LinearProbe.fit(POSITIVE, NEGATIVE, new LinearProbe.Options(1, 1.0, 0));
        assertEquals(1 / Math.sqrt(5), probe.weights()[0], 1e-6);
        assertEquals(0.0, probe.weights()[1], 0.0);
        assertEquals(0.0, probe.bias(), 1e-12);
    }

    @Test
    void separatesTheClassesAndIsMonotoneInTheInformativeFeature() {
        LinearProbe probe = LinearProbe.fit(POSITIVE, NEGATIVE, LinearProbe.Options.defaults());
        for (float[] row : POSITIVE) {
            assertTrue(probe.probability(row) > 0.5);
        }
        for (float[] row : NEGATIVE) {
            assertTrue(probe.probability(row) < 0.5);
        }
        // symmetric classes: the boundary sits at x0 = 0
        assertEquals(0.5, probe.probability(new float[] {0, 10}), 1e-9);
        assertTrue(probe.probability(new float[] {2, 10}) < probe.probability(new float[] {5, 10}));
        // the constant feature never moves the answer, whatever its value at scoring time
        assertEquals(probe.probability(new float[] {1, 10}), probe.probability(new float[] {1, -1000}), 1e-12);
    }

    @Test
    void classesWeighEquallyWhateverTheirSizes() {
        // three copies of the negative class: with equal class weights the boundary stays midway (x0 = 0); a plain
        // average over rows would pull it towards the positive class
        float[][] tripled = {NEGATIVE[0], NEGATIVE[1], NEGATIVE[0], NEGATIVE[1], NEGATIVE[0], NEGATIVE[1]};
        LinearProbe thrice = LinearProbe.fit(POSITIVE, tripled, LinearProbe.Options.defaults());
        assertEquals(0.5, thrice.probability(new float[] {0, 10}), 0.01);
    }

    @Test
    void sigmoidStaysFiniteAtExtremes() {
        assertEquals(1.0, LinearProbe.sigmoid(1000), 0.0);
        assertEquals(0.0, LinearProbe.sigmoid(-1000), 0.0);
        assertEquals(0.5, LinearProbe.sigmoid(0), 0.0);
    }

    @Test
    void refusesWhatCannotBeFittedOrScored() {
        LinearProbe.Options options = LinearProbe.Options.defaults();
        assertEquals("a probe needs rows of both classes, got 2 positive and 0 negative",
                assertThrows(IllegalArgumentException.class, () -> LinearProbe.fit(POSITIVE, new float[0][], options)).getMessage());
        assertEquals("row 2 has width 1, expected 2",
                assertThrows(IllegalArgumentException.class, () -> LinearProbe.fit(POSITIVE, new float[][] {{1}}, options)).getMessage());
        LinearProbe probe = LinearProbe.fit(POSITIVE, NEGATIVE, options);
        assertEquals("activation has width 3, the probe 2",
                assertThrows(IllegalArgumentException.class, () -> probe.probability(new float[3])).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new LinearProbe.Options(0, 0.5, 0));
        assertThrows(IllegalArgumentException.class, () -> new LinearProbe.Options(10, 0.5, -1));
    }
}
