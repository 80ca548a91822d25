package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The Vector API kernels against LoopDecoder's scalar loops, at every length across the vector width and its tail. */
class VectorKernelsTest {

    @Test
    void softmaxMatchesTheScalarLoopAndSumsToOne() {
        assertTrue(LoopDecoder.VECTOR_API, "the tests run with --add-modules jdk.incubator.vector (pom.xml)");
        Random random = new Random(11);
        for (int length = 1; length <= 300; length++) {
            float[] scores = new float[length + 5]; // longer than length: what lies beyond is not touched
            for (int t = 0; t < scores.length; t++) {
                scores[t] = 4 * (float) random.nextGaussian();
            }
            float[] scalar = scores.clone();
            float[] vector = scores.clone();
            LoopDecoder.softmax(scalar, length);
            VectorKernels.softmax(vector, length);
            double sum = 0;
            for (int t = 0; t < length; t++) {
                // the sum's order differs: a few float roundings of 1e-7 each, relative
                assertEquals(scalar[t], vector[t], 1e-5f * scalar[t] + 1e-9f, "length " + length + ", t " + t);
                sum += vector[t];
            }
            assertEquals(1.0, sum, 1e-5, "length " + length);
            assertTrue(Arrays.equals(scores, length, scores.length, vector, length, vector.length), "length " + length);
        }
    }

    @Test
    void softmaxOfEqualScoresIsUniformAndOfOneLargeScoreIsOneHot() {
        float[] equal = new float[40];
        Arrays.fill(equal, 2.5f);
        VectorKernels.softmax(equal, 40);
        for (float p : equal) {
            assertEquals(1 / 40f, p, 1e-7f);
        }
        float[] peaked = new float[40];
        peaked[17] = 200f;
        VectorKernels.softmax(peaked, 40);
        assertEquals(1f, peaked[17]);
        assertEquals(0f, peaked[3]);
    }

    @Test
    void weightedValuesMatchTheScalarSums() {
        Random random = new Random(12);
        for (int dims : new int[] {8, 6}) { // four dims a pass, and what is left
            for (int length = 1; length <= 300; length++) {
                float[] weights = new float[length];
                for (int t = 0; t < length; t++) {
                    weights[t] = random.nextFloat() / length;
                }
                float[][] values = new float[2 * dims][length + 3];
                for (float[] row : values) {
                    for (int t = 0; t < row.length; t++) {
                        row[t] = (float) random.nextGaussian();
                    }
                }
                float[] scalar = new float[dims];
                float[] vector = new float[dims];
                LoopDecoder.weightedValues(weights, values, dims, length, scalar); // the second head's dims
                VectorKernels.weightedValues(weights, values, dims, length, vector);
                for (int d = 0; d < dims; d++) {
                    assertEquals(scalar[d], vector[d], 1e-5f, dims + " dims, length " + length + ", dim " + d);
                }
            }
        }
    }

    @Test
    void attendIsTheScoresTheirSoftmaxAndTheWeightedValues() {
        Random random = new Random(13);
        int hs = 8;
        for (int length = 1; length <= 300; length++) {
            float[] q = new float[4 * hs]; // four query heads
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) random.nextGaussian();
            }
            float[][] keys = new float[2 * hs][length + 3]; // two kv heads
            float[][] values = new float[2 * hs][length + 3];
            for (int c = 0; c < keys.length; c++) {
                for (int t = 0; t < length + 3; t++) {
                    keys[c][t] = 2 * (float) random.nextGaussian();
                    values[c][t] = (float) random.nextGaussian();
                }
            }
            // query heads 2 and 3 on kv head 1 (channels 8 to 15), the scalar way
            float[] expected = new float[2 * hs];
            for (int head = 2; head <= 3; head++) {
                float[] probabilities = new float[length];
                for (int t = 0; t < length; t++) {
                    for (int d = 0; d < hs; d++) {
                        probabilities[t] += q[head * hs + d] * keys[hs + d][t];
                    }
                }
                LoopDecoder.softmax(probabilities, length);
                float[] out = new float[hs];
                LoopDecoder.weightedValues(probabilities, values, hs, length, out);
                System.arraycopy(out, 0, expected, (head - 2) * hs, hs);
            }

            float[] alone = new float[2 * hs];
            float[] out = new float[hs];
            for (int head = 2; head <= 3; head++) {
                VectorKernels.attend(q, head * hs, keys, values, hs, length, new float[length], out);
                System.arraycopy(out, 0, alone, (head - 2) * hs, hs);
            }
            for (int i = 0; i < 2 * hs; i++) {
                assertEquals(expected[i], alone[i], 1e-5f, "attend, length " + length + ", output " + i);
            }
        }
    }

    @Test
    void attendToEqualKeysAveragesTheValuesAndToOneMatchingKeyPicksItsValue() {
        int hs = 4;
        int length = 48;
        float[] q = {1f, 0f, 0f, 0f};
        float[][] keys = new float[hs][length];
        float[][] values = new float[hs][length];
        for (int t = 0; t < length; t++) {
            values[0][t] = t;
            values[3][t] = -2f;
        }
        float[] out = new float[hs];
        VectorKernels.attend(q, 0, keys, values, 0, length, new float[length], out);
        assertEquals((length - 1) / 2f, out[0], 1e-4f); // the mean of 0..47
        assertEquals(0f, out[1]);
        assertEquals(-2f, out[3], 1e-6f);

        keys[0][29] = 200f; // one key far closer to the query than the rest
        VectorKernels.attend(q, 0, keys, values, 0, length, new float[length], out);
        assertEquals(29f, out[0]);
        assertEquals(-2f, out[3]);
    }

    @Test
    void swigluMatchesTheScalarLoop() {
        Random random = new Random(14);
        for (int hidden = 1; hidden <= 200; hidden++) {
            float[] gateUp = new float[2 * hidden];
            for (int i = 0; i < gateUp.length; i++) {
                gateUp[i] = 3 * (float) random.nextGaussian();
            }
            float[] scalar = new float[hidden];
            float[] vector = new float[hidden];
            LoopDecoder.swiglu(gateUp, scalar);
            VectorKernels.swiglu(gateUp, vector);
            for (int i = 0; i < hidden; i++) {
                // only the exp may differ, in its last bit
                assertEquals(scalar[i], vector[i], 1e-6f * Math.abs(scalar[i]) + 1e-12f, "hidden " + hidden + ", " + i);
            }
        }
        float[] saturated = new float[64]; // 32 gates, whole vectors, then 32 ups of 2
        Arrays.fill(saturated, 32, 64, 2f);
        saturated[0] = -100f;
        saturated[2] = 100f;
        float[] out = new float[32];
        VectorKernels.swiglu(saturated, out);
        assertEquals(0f, out[0], 1e-30f); // silu(-100) * 2
        assertEquals(0f, out[1]);
        assertEquals(200f, out[2]);
    }

    @Test
    void expGivesEveryLaneTheBitsOfTheScalarExpBeforeAndAfterTheJitCompilesIt() {
        // the Vector API's lanewise(EXP) failed this: its compiled form differs from its interpreted one (2% of inputs)
        Random random = new Random(15);
        float[] x = new float[FloatVector.SPECIES_PREFERRED.length() * 256];
        for (int i = 0; i < x.length; i++) {
            x[i] = 40 * (float) random.nextGaussian();
        }
        float[] specials = {Float.NEGATIVE_INFINITY, -1e30f, -104f, -87.34f, -87.33f, -1e-30f, -0f, 0f, 1e-30f, 87.99f,
            88.01f, 1e30f, Float.POSITIVE_INFINITY, Float.NaN};
        System.arraycopy(specials, 0, x, 0, specials.length);
        float[] scalar = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            scalar[i] = VectorKernels.exp(x[i]);
        }
        float[] cold = vectorExp(x);
        assertArrayEquals(scalar, cold, "first calls");
        for (int round = 0; round < 20_000; round++) { // long enough for C2 to compile it
            vectorExp(x);
        }
        assertArrayEquals(scalar, vectorExp(x), "after 20,000 calls");
    }

    @Test
    void expTakesItsInputNegatedOrShiftedAndReturnsTheSum() {
        Random random = new Random(16);
        for (int length = 1; length <= 70; length++) {
            float[] in = new float[length + 3];
            for (int i = 0; i < in.length; i++) {
                in[i] = 5 * (float) random.nextGaussian();
            }
            float[] out = new float[length + 1];
            float sum = VectorKernels.exp(in, 3, -1f, 0.5f, out, 1, length);
            double expected = 0;
            for (int i = 0; i < length; i++) {
                assertEquals(VectorKernels.exp(-in[3 + i] - 0.5f), out[1 + i], "length " + length + ", " + i);
                expected += out[1 + i];
            }
            assertEquals(0f, out[0], "nothing before the offset");
            assertEquals(expected, sum, 1e-5 * expected, "length " + length);
        }
    }

    @Test
    void expIsWithinTwoUlpOfMathExpAndZeroInfinityOrNanOutsideTheFloats() {
        for (float x = -87.3f; x <= 88f; x += 0.0137f) {
            float expected = (float) Math.exp(x);
            float actual = VectorKernels.exp(x);
            assertTrue(Math.abs(actual - expected) <= 2 * Math.ulp(expected),
                    "exp(" + x + ") = " + actual + ", not " + expected);
        }
        assertEquals(1f, VectorKernels.exp(0f));
        assertEquals(0f, VectorKernels.exp(-88f)); // Math.exp: a subnormal
        assertEquals(0f, VectorKernels.exp(Float.NEGATIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, VectorKernels.exp(88.5f)); // Math.exp: 2.7e38
        assertEquals(Float.POSITIVE_INFINITY, VectorKernels.exp(Float.POSITIVE_INFINITY));
        assertTrue(Float.isNaN(VectorKernels.exp(Float.NaN)));
    }

    private static float[] vectorExp(float[] x) {
        float[] out = new float[x.length];
        VectorKernels.exp(x, 0, 1f, 0f, out, 0, x.length);
        return out;
    }
}
