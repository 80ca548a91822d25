package io.steergate.engine.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/** run.c's sampler for one row: argmax at temperature 0, else softmax(logits / temperature), nucleus when topP < 1. */
final class Sampler {

    private final float temperature;
    private final float topP;
    private final SplittableRandom random; // this row's own stream: companions in the batch never consume from it

    Sampler(float temperature, float topP, long seed) {
        this.temperature = temperature;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    /** Picks the next token from {@code logits} (vocabSize), which it overwrites with probabilities. */
    int sample(float[] logits) {
        if (temperature == 0f) {
            return argmax(logits);
        }
        for (int i = 0; i < logits.length; i++) {
            logits[i] /= temperature;
        }
        softmax(logits);
        float coin = (float) random.nextDouble(); // in [0, 1), like run.c's random_f32
        return topP >= 1f ? sampleMult(logits, coin) : sampleTopP(logits, topP, coin);
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    static void softmax(float[] x) {
        float max = x[0];
        for (float v : x) {
            max = Math.max(max, v);
        }
        float sum = 0f;
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.exp(x[i] - max);
            sum += x[i];
        }
        for (int i = 0; i < x.length; i++) {
            x[i] /= sum;
        }
    }

    /** Samples index i with probability probs[i]; coin in [0, 1). */
    static int sampleMult(float[] probs, float coin) {
        float cdf = 0f;
        for (int i = 0; i < probs.length; i++) {
            cdf += probs[i];
            if (coin < cdf) {
                return i;
            }
        }
        return probs.length - 1; // in case of rounding errors
    }

    /** run.c's sample_topp: sample from the smallest set of tokens whose probability exceeds topP. */
    static int sampleTopP(float[] probs, float topP, float coin) {
        int n = probs.length;
        // tokens below this cannot be part of the nucleus, so they are not sorted
        float cutoff = (1f - topP) / (n - 1);
        Integer[] candidates = new Integer[n];
        int n0 = 0;
        for (int i = 0; i < n; i++) {
            if (probs[i] >= cutoff) {
                candidates[n0++] = i;
            }
        }
        // descending probability, ties by id so the order never depends on the sort
        Arrays.sort(candidates, 0, n0, (a, b) -> probs[a] != probs[b] ? Float.compare(probs[b], probs[a]) : a - b);
        float cumulative = 0f;
        int last = n0 - 1;
        for (int i = 0; i < n0; i++) {
            cumulative += probs[candidates[i]];
            if (cumulative > topP) {
                last = i;
                break;
            }
        }
        float r = coin * cumulative;
        float cdf = 0f;
        for (int i = 0; i <= last; i++) {
            cdf += probs[candidates[i]];
            if (r < cdf) {
                return candidates[i];
            }
        }
        return candidates[last];
    }
}
