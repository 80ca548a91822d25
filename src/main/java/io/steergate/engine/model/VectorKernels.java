package io.steergate.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention's two reductions over a row's positions on the Vector API ({@code jdk.incubator.vector}), for
 * {@link LoopDecoder}: the softmax, whose exp is the one operation of a decode step that HotSpot does not vectorize
 * on its own (a scalar {@code Math.exp} a score), and the probability-weighted sum of the values, a reduction over
 * positions that it does not vectorize either, because that would reorder a float sum. Here both run a vector of
 * positions at a time: about 5x (softmax) and 2x (weighted sum, 64 positions and more) of the scalar loops on this
 * machine (BENCHMARKS.md, session 13).
 *
 * <p>The sums are in a different order from LoopDecoder's scalar ones (lanes, then the lanes added by
 * {@code reduceLanes}), and the vector exp may differ from {@code Math.exp} in the last bit, so the logits differ in
 * the last bits between the two paths; within one path a row's bits still depend only on its own positions, however
 * it is batched or chunked.
 *
 * <p>The module is incubating in Java 17 and only there when the JVM was started with {@code --add-modules
 * jdk.incubator.vector} (the build, tests, {@code deploy/steer} and the launcher pass it). This class must not be
 * loaded when it is not: LoopDecoder checks first ({@code LoopDecoder.VECTOR_API}) and keeps its scalar loops.
 */
final class VectorKernels {

    // below this many positions the lanes' set-up and the final reduction cost more than the scalar sums
    static final int MIN_POSITIONS = 32;

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    private VectorKernels() {
    }

    /** Softmax of the first {@code length} scores in place: exp(s - max) / sum. */
    static void softmax(float[] s, int length) {
        float max = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < length; t++) {
            max = Math.max(max, s[t]);
        }
        int bound = SPECIES.loopBound(length);
        FloatVector sums = FloatVector.zero(SPECIES);
        int t = 0;
        for (; t < bound; t += SPECIES.length()) {
            FloatVector e = FloatVector.fromArray(SPECIES, s, t).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(s, t);
            sums = sums.add(e);
        }
        float sum = sums.reduceLanes(VectorOperators.ADD);
        for (; t < length; t++) {
            s[t] = (float) Math.exp(s[t] - max);
            sum += s[t];
        }
        for (t = 0; t < length; t++) {
            s[t] /= sum;
        }
    }

    /**
     * out[d] = sum over t below {@code length} of weights[t] * values[first + d][t]: four dims per pass, so that each
     * vector of weights is loaded once for four sums (each dim's sum is the one it has alone).
     */
    static void weightedValues(float[] weights, float[][] values, int first, int length, float[] out) {
        int bound = SPECIES.loopBound(length);
        int d = 0;
        for (; d + 3 < out.length; d += 4) {
            float[] v0 = values[first + d];
            float[] v1 = values[first + d + 1];
            float[] v2 = values[first + d + 2];
            float[] v3 = values[first + d + 3];
            FloatVector s0 = FloatVector.zero(SPECIES);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            int t = 0;
            for (; t < bound; t += SPECIES.length()) {
                FloatVector w = FloatVector.fromArray(SPECIES, weights, t);
                s0 = w.fma(FloatVector.fromArray(SPECIES, v0, t), s0);
                s1 = w.fma(FloatVector.fromArray(SPECIES, v1, t), s1);
                s2 = w.fma(FloatVector.fromArray(SPECIES, v2, t), s2);
                s3 = w.fma(FloatVector.fromArray(SPECIES, v3, t), s3);
            }
            out[d] = tail(s0, weights, v0, t, length);
            out[d + 1] = tail(s1, weights, v1, t, length);
            out[d + 2] = tail(s2, weights, v2, t, length);
            out[d + 3] = tail(s3, weights, v3, t, length);
        }
        for (; d < out.length; d++) {
            float[] v = values[first + d];
            FloatVector sums = FloatVector.zero(SPECIES);
            int t = 0;
            for (; t < bound; t += SPECIES.length()) {
                sums = FloatVector.fromArray(SPECIES, weights, t).fma(FloatVector.fromArray(SPECIES, v, t), sums);
            }
            out[d] = tail(sums, weights, v, t, length);
        }
    }

    /** The lanes added, then the positions from {@code from} on that fill no whole vector. */
    private static float tail(FloatVector lanes, float[] weights, float[] v, int from, int length) {
        float sum = lanes.reduceLanes(VectorOperators.ADD);
        for (int t = from; t < length; t++) {
            sum += weights[t] * v[t];
        }
        return sum;
    }
}
