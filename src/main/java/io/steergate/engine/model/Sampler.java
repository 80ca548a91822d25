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

    /**
     * Picks the next token from {@code logits} (vocabSize), which it overwrites with probabilities.
     *
     * @throws IllegalStateException when a logit is NaN or infinite: the forward overflowed (a steering map or the
     *         weights), and a token drawn from such a row would be garbage presented as text
     */
    int sample(float[] logits) {
        int best = finiteArgmax(logits);
        if (temperature == 0f) {
            return best;
        }
        // A positive temperature so small that the top logit over it leaves float's range (1e-40 is a valid request)
        // is greedy in the limit; dividing anyway would give infinity minus infinity in the softmax, NaN throughout.
        if (!Float.isFinite(logits[best] / temperature)) {
            return best;
        }
        for (int i = 0; i < logits.length; i++) {
            logits[i] /= temperature;
        }
        softmax(logits);
        float coin = (float) random.nextDouble(); // in [0, 1), like run.c's random_f32
        return topP >= 1f ? sampleMult(logits, coin) : sampleTopP(logits, topP, coin);
    }

    /** The argmax, checking each logit on the same pass: one read of the vocabulary per token, not two. */
    private static int finiteArgmax(float[] logits) {
        int best = 0;
        for (int i = 0; i < logits.length; i++) {
            float v = logits[i];
            if (!Float.isFinite(v)) {
                throw new IllegalStateException("the model's logits are not finite (" + v + "): the forward overflowed,"
                        + " so this row cannot be sampled; a steering map with extreme values is the likely cause");
            }
            if (v > logits[best]) {
                best = i;
            }
        }
        return best;
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
        if (n0 == 0) {
            // a flat distribution and a tiny topP: every probability is under the cutoff, yet the nucleus always holds
            // the most likely token (run.c would read before its array here)
            return argmax(probs);
        }
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
