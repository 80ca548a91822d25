package io.steergate.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/**
 * Whole prompts as one left-padded batch, for a forward without a KV cache ({@link LlamaModel#forwardPrompts}):
 * activation collection and training. Row b holds its tokens in the last {@code lengths[b]} columns; its RoPE
 * positions count from its first real token and the mask hides its padding, as in {@link Generator}'s prefill.
 *
 * @param tokens (B, T) token ids, padding is token 0
 * @param positions (B, T) RoPE positions, padding at 0
 * @param mask (B, 1, 1, T, T) additive attention mask: causal plus padding
 * @param valid (B, T, 1) 1 on real tokens (BOS included), 0 on padding
 * @param counts (B, 1) real tokens per row
 * @param lengths real tokens per row
 */
public record PromptBatch(NDArray tokens, NDArray positions, NDArray mask, NDArray valid, NDArray counts,
        int[] lengths) {

    /** Left-pads {@code prompts} (token ids, BOS included, each non-empty) into arrays owned by {@code manager}. */
    public static PromptBatch of(NDManager manager, int[][] prompts) {
        int rows = prompts.length;
        int t = Arrays.stream(prompts).mapToInt(p -> p.length).max().orElse(0);
        long[] tokens = new long[rows * t];
        long[] positions = new long[rows * t];
        float[] padding = new float[rows * t];
        float[] valid = new float[rows * t];
        float[] counts = new float[rows];
        int[] lengths = new int[rows];
        for (int b = 0; b < rows; b++) {
            if (prompts[b].length == 0) {
                throw new IllegalArgumentException("prompt " + b + " has no tokens");
            }
            int pad = t - prompts[b].length;
            Arrays.fill(padding, b * t, b * t + pad, LlamaModel.MASKED);
            for (int c = pad; c < t; c++) {
                tokens[b * t + c] = prompts[b][c - pad];
                positions[b * t + c] = c - pad;
                valid[b * t + c] = 1f;
            }
            counts[b] = prompts[b].length;
            lengths[b] = prompts[b].length;
        }
        float[] causal = new float[t * t]; // (T, T): query i sees keys j <= i
        for (int i = 0; i < t; i++) {
            Arrays.fill(causal, i * t + i + 1, (i + 1) * t, LlamaModel.MASKED);
        }
        Shape shape = new Shape(rows, t);
        NDArray mask = manager.create(padding, new Shape(rows, 1, 1, 1, t))
                .add(manager.create(causal, new Shape(t, t))); // (B, 1, 1, T, T)
        return new PromptBatch(manager.create(tokens, shape), manager.create(positions, shape), mask,
                manager.create(valid, new Shape(rows, t, 1)), manager.create(counts, new Shape(rows, 1)), lengths);
    }

    /** Mean over each row's real tokens (BOS included, padding excluded): (B, T, D) to (B, D); differentiable. */
    public NDArray meanPool(NDArray x) {
        return x.mul(valid).sum(new int[] {1}).div(counts);
    }

    public int rows() {
        return lengths.length;
    }
}
