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
 * before it, and {@link #exp} is a polynomial, not {@code Math.exp}, so the logits differ in the last bits between the
 * two paths; within one path a row's bits depend only on its own positions, however it is batched or chunked, and
 * not on whether the JIT has compiled the kernels yet (every operation here is one Java defines bit for bit).
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

    // exp's constants (Cephes' expf): above EXP_MAX e^x is infinity (2^k with k = 128 has no float exponent; Math.exp
    // overflows from 88.72), below EXP_MIN, ln of the smallest normal float, 0 (Math.exp: subnormals down to -103.97)
    private static final float EXP_MAX = 88f;
    private static final float EXP_MIN = -87.33654f;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f; // ln 2 = LN2_HI + LN2_LO, LN2_HI exact in a few bits
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f; // 1.5 * 2^23: (v + ROUND) - ROUND is v rounded to an integer
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND); // v + ROUND's bits are these plus round(v)
    // e^r = 1 + r + r^2 (P5 + r (P4 + r (P3 + r (P2 + r (P1 + r P0))))) on [-ln2 / 2, ln2 / 2]
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;
    // the same as vectors, made once
    private static final FloatVector MINUS_LN2_HI = FloatVector.broadcast(SPECIES, -LN2_HI);
    private static final FloatVector VP0 = FloatVector.broadcast(SPECIES, P0);
    private static final FloatVector VP1 = FloatVector.broadcast(SPECIES, P1);
    private static final FloatVector VP2 = FloatVector.broadcast(SPECIES, P2);
    private static final FloatVector VP3 = FloatVector.broadcast(SPECIES, P3);
    private static final FloatVector VP4 = FloatVector.broadcast(SPECIES, P4);
    private static final FloatVector VP5 = FloatVector.broadcast(SPECIES, P5);

    private VectorKernels() {
    }

    /**
     * out[to + i] = e^(sign * in[from + i] - shift) for i below {@code length} (in and out may be the same array at the
     * same offset), a lane group at a time; returns their sum (lanes added, then the tail). The same bits whether the
     * JIT has compiled this or not. The Vector API's own {@code lanewise(EXP)} does not have that: interpreted it is
     * {@code Math.exp} per lane, compiled by C2 it calls the platform's vector math library, and the two differ in the
     * last bit for about 2% of inputs on this machine, so a row's logits changed once the kernels were compiled
     * (LoopDecoderTest caught it). This is Cephes' expf, e^x = 2^k e^r with k = x / ln 2 rounded and r = x - k ln 2
     * (in two parts, the first fused), e^r by its polynomial: only the adds, multiplies, fused multiply-adds,
     * comparisons and integer steps Java defines exactly, the same in every lane as {@link #exp(float)}, which takes
     * the tail. Within 2 ulp of {@code Math.exp} (VectorKernelsTest); 0 below {@value #EXP_MIN}, infinity above
     * {@value #EXP_MAX}, NaN for NaN. An array kernel rather than a function of a vector: a vector passed to or
     * returned from a method C2 does not inline is boxed, an allocation per lane group.
     */
    static float exp(float[] in, int from, float sign, float shift, float[] out, int to, int length) {
        int bound = SPECIES.loopBound(length);
        FloatVector sums = FloatVector.zero(SPECIES);
        int i = 0;
        for (; i < bound; i += SPECIES.length()) {
            FloatVector x = FloatVector.fromArray(SPECIES, in, from + i).mul(sign).sub(shift);
            FloatVector rounded = x.mul(LOG2E).add(ROUND); // k in its low mantissa bits
            FloatVector k = rounded.sub(ROUND);
            FloatVector r = k.fma(MINUS_LN2_HI, x).add(k.mul(-LN2_LO));
            FloatVector y = VP0.fma(r, VP1).fma(r, VP2).fma(r, VP3).fma(r, VP4).fma(r, VP5).fma(r.mul(r), r).add(1f);
            // 2^k: k + 127 into the exponent bits, read from those mantissa bits (C2 in Java 17 does not compile a
            // float-to-int vector conversion: 30 KB of garbage and 10 us per 1,024 values); lanes out of range get
            // garbage here and are replaced below
            FloatVector twoToK = rounded.reinterpretAsInts().sub(ROUND_BITS - 127).lanewise(VectorOperators.LSHL, 23)
                    .reinterpretAsFloats();
            FloatVector e = y.mul(twoToK).blend(0f, x.lt(EXP_MIN))
                    .blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_MAX));
            e.intoArray(out, to + i);
            sums = sums.add(e);
        }
        float sum = sums.reduceLanes(VectorOperators.ADD);
        for (; i < length; i++) {
            out[to + i] = exp(sign * in[from + i] - shift);
            sum += out[to + i];
        }
        return sum;
    }

    /** e^x: {@link #exp(float[], int, float, float, float[], int, int)}'s operations on one value, so its bits. */
    static float exp(float x) {
        if (x < EXP_MIN) {
            return 0f;
        }
        if (x > EXP_MAX) {
            return Float.POSITIVE_INFINITY;
        }
        float rounded = x * LOG2E + ROUND;
        float k = rounded - ROUND;
        float r = Math.fma(k, -LN2_HI, x) + k * -LN2_LO;
        float y = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(P0, r, P1), r, P2), r, P3), r, P4), r, P5);
        y = Math.fma(y, r * r, r) + 1f;
        return y * Float.intBitsToFloat((Float.floatToRawIntBits(rounded) - (ROUND_BITS - 127)) << 23);
    }

    /** Softmax of the first {@code length} scores in place: exp(s - max) / sum. */
    static void softmax(float[] s, int length) {
        float max = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < length; t++) {
            max = Math.max(max, s[t]);
        }
        float sum = exp(s, 0, 1f, max, s, 0, length);
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
        float sum = exp(scores, 0, 1f, max, scores, 0, length);
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
        exp(gateUp, 0, -1f, 0f, out, 0, hidden); // e^-gate, then the sigmoid's quotient in a second pass
        int bound = SPECIES.loopBound(hidden);
        int i = 0;
        for (; i < bound; i += SPECIES.length()) {
            FloatVector gate = FloatVector.fromArray(SPECIES, gateUp, i);
            FloatVector sigmoid = ONE.div(FloatVector.fromArray(SPECIES, out, i).add(1f));
            FloatVector up = FloatVector.fromArray(SPECIES, gateUp, hidden + i);
            gate.mul(sigmoid).mul(up).intoArray(out, i);
        }
        for (; i < hidden; i++) {
            out[i] = gateUp[i] * (1f / (out[i] + 1f)) * gateUp[hidden + i];
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
