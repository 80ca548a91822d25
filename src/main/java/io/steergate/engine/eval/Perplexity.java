package io.steergate.engine.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.model.PromptBatch;
import io.steergate.engine.model.SiteHook;
import io.steergate.engine.model.SteeringBatch;
import io.steergate.engine.steering.SteeringPlan;
import java.util.Collections;
import java.util.List;

/**
 * Perplexity of the (optionally steered) model itself on a set of texts: the AcT protocol's PPL_Wik with our own
 * passages (docs/steering-methods.md 4). Each text is encoded with BOS and truncated to the context; every real token
 * after BOS is predicted from the ones before it, and perplexity is exp of the mean negative log-likelihood over all
 * predicted tokens of all texts (token-weighted, not a mean of per-text perplexities). Padding is excluded.
 *
 * @param perplexity exp(nll / tokens)
 * @param nll summed negative log-likelihood, in nats
 * @param tokens predicted tokens (each text contributes its length minus one)
 */
public record Perplexity(double perplexity, double nll, long tokens) {

    /** Texts per forward when none is given. */
    public static final int DEFAULT_BATCH = 32;

    /** Mean negative log-likelihood per token. */
    public double meanNll() {
        return nll / tokens;
    }

    /**
     * Perplexity of {@code model} steered by {@code plan} on {@code texts}.
     *
     * @param model the model
     * @param texts the passages; each needs at least one token after BOS to count
     * @param plan applied at every position of every row; null or empty = unsteered
     * @param batchSize texts per forward, at least 1
     * @throws IllegalArgumentException when no text has a token to predict
     */
    public static Perplexity of(LlamaModel model, List<String> texts, SteeringPlan plan, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
        }
        double nll = 0;
        long tokens = 0;
        for (int from = 0; from < texts.size(); from += batchSize) {
            int to = Math.min(texts.size(), from + batchSize);
            int[][] ids = model.encodeTruncated(texts.subList(from, to));
            try (NDManager step = model.newSubManager()) {
                model.lendWeights(step);
                PromptBatch batch = PromptBatch.of(step, ids);
                SiteHook[] hooks = null;
                if (plan != null && !plan.isEmpty()) {
                    hooks = SteeringBatch.build(step, Collections.nCopies(ids.length, plan), model.config()).hooks();
                }
                NDArray logits = model.forwardPromptsAllPositions(batch, hooks); // (B, T, vocab)
                long t = logits.getShape().get(1);
                if (t < 2) {
                    continue;
                }
                // column c predicts the token at column c + 1; both must be real (left padding, so the first real
                // column's prediction comes from padding and is dropped)
                NDArray logp = logits.get(":, :-1, :").logSoftmax(2); // (B, T-1, vocab)
                NDArray next = batch.tokens().get(":, 1:").expandDims(2); // (B, T-1, 1)
                float[] picked = logp.gather(next, 2).toFloatArray(); // (B, T-1)
                float[] valid = batch.valid().toFloatArray(); // (B, T, 1)
                int cols = (int) t;
                for (int b = 0; b < ids.length; b++) {
                    for (int c = 0; c < cols - 1; c++) {
                        if (valid[b * cols + c] != 0f && valid[b * cols + c + 1] != 0f) {
                            nll -= picked[b * (cols - 1) + c];
                            tokens++;
                        }
                    }
                }
            }
        }
        if (tokens == 0) {
            throw new IllegalArgumentException("no text has a token to predict after BOS (" + texts.size()
                    + " texts)");
        }
        return new Perplexity(Math.exp(nll / tokens), nll, tokens);
    }

    /** {@link #of(LlamaModel, List, SteeringPlan, int)} in batches of {@link #DEFAULT_BATCH}. */
    public static Perplexity of(LlamaModel model, List<String> texts, SteeringPlan plan) {
        return of(model, texts, plan, DEFAULT_BATCH);
    }
}
