package io.steergate.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention over a row's positions, and the MLP's SwiGLU, on the Vector API ({@code jdk.incubator.vector}), for
 * {@link LoopDecoder}: the steps HotSpot does not vectorize on its own. The softmax's exp and the sigmoid's (a scalar
 * {@code Math.exp} a score or hidden unit otherwise), and the probability-weighted sum of the values (a reduction over
 * positions, which C2 will not reorder). {@link #attend} does a query head in three passes over the positions (scores
 * and their maximum, exp, weighted values) where the scalar loops take seven; {@link #swiglu} takes the sigmoid a
 * vector at a time (BENCHMARKS.md, sessions 13 and 14).
 *
 * <p>The sums are in a different order from LoopDecoder's scalar ones (lanes, then the lanes added by
 * {@code reduceLanes}) and use fused multiply-adds, the softmax's division comes after the weighted sum instead of
 * before it, and the vector exp may differ from {@code Math.exp} in the last bit, so the logits differ in
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
    private static final FloatVector ONE = FloatVector.broadcast(SPECIES, 1f);

    private VectorKernels() {
    }

    /** Softmax of the first {@code length} scores in place: exp(s - max) / sum. */
    static void softmax(float[] s, int length) {
        float max = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < length; t++) {
            max = Math.max(max, s[t]);
        }
        float sum = expInPlace(s, length, max);
        for (int t = 0; t < length; t++) {
            s[t] /= sum;
        }
    }

    /**
     * One query head over a row's first {@code length} positions, in three passes over them instead of softmax's and
     * the scalar products' seven: the scores and their maximum in one (all of the head's dims per vector of
     * positions), then exp(score - max) in place, then the values weighted by those, each dim divided by their sum
     * once at the end instead of every weight before. out[d] = sum over t of softmax(scores)[t] * values[first + d][t].
     *
     * @param q the query; the head's dims are {@code q[from]} to {@code q[from + out.length - 1]}
     * @param keys per kv channel (channels, positions); the head's are {@code first} to {@code first + out.length - 1}
     * @param values as the keys
     * @param scores work space of at least {@code length}; left holding exp(score - max)
     */
    static void attend(float[] q, int from, float[][] keys, float[][] values, int first, int length, float[] scores,
            float[] out) {
        int hs = out.length;
        int bound = SPECIES.loopBound(length);
        FloatVector maxes = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        int t = 0;
        for (; t < bound; t += SPECIES.length()) {
            FloatVector dot = FloatVector.zero(SPECIES);
            for (int d = 0; d < hs; d++) {
                FloatVector qd = FloatVector.broadcast(SPECIES, q[from + d]);
                dot = FloatVector.fromArray(SPECIES, keys[first + d], t).fma(qd, dot);
            }
            dot.intoArray(scores, t);
            maxes = maxes.max(dot);
        }
        float max = maxes.reduceLanes(VectorOperators.MAX);
        for (; t < length; t++) {
            float dot = 0f;
            for (int d = 0; d < hs; d++) {
                dot += q[from + d] * keys[first + d][t];
            }
            scores[t] = dot;
            max = Math.max(max, dot);
        }
        float sum = expInPlace(scores, length, max);
        weightedValues(scores, values, first, length, out);
        for (int d = 0; d < hs; d++) {
            out[d] /= sum;
        }
    }

    /**
     * {@link LoopDecoder#swiglu} with the exp a vector at a time: the MLP's sigmoid is a scalar {@code Math.exp} per
     * hidden unit otherwise (hidden x layers of them a token).
     */
    static void swiglu(float[] gateUp, float[] out) {
        int hidden = out.length;
        int bound = SPECIES.loopBound(hidden);
        int i = 0;
        for (; i < bound; i += SPECIES.length()) {
            FloatVector gate = FloatVector.fromArray(SPECIES, gateUp, i);
            FloatVector sigmoid = ONE.div(gate.neg().lanewise(VectorOperators.EXP).add(1f));
            FloatVector up = FloatVector.fromArray(SPECIES, gateUp, hidden + i);
            gate.mul(sigmoid).mul(up).intoArray(out, i);
        }
        LoopDecoder.swiglu(gateUp, out, i);
    }

    /** s[t] = exp(s[t] - max) for t below {@code length}; returns their sum. */
    private static float expInPlace(float[] s, int length, float max) {
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
        return sum;
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
