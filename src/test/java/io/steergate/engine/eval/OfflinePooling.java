package io.steergate.engine.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.model.PromptBatch;
import io.steergate.engine.model.SiteHook;
import io.steergate.engine.model.SteeringBatch;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.SteeringPlan;
import java.util.Arrays;
import java.util.List;

/**
 * The reference the generator's pooling is checked against, computed another way: greedy decoding by whole forwards
 * without a KV cache (each step re-runs the full sequence), then one forward over the prompt and the generated tokens
 * with the plan's hooks, and the mean of the site's output after them over the positions that chose the generated
 * tokens (the prompt's last, and every generated one but the last).
 */
public final class OfflinePooling {

    /** The greedy continuation and its pooled activation at the site (null when nothing was generated). */
    public record Reference(String text, int[] generated, float[] pooled) {}

    private OfflinePooling() {}

    public static Reference greedy(LlamaModel model, String prompt, int maxTokens, SteeringPlan plan, HookSite site) {
        int[] promptTokens = model.tokenizer().encode(prompt);
        int[] tokens = promptTokens;
        int vocab = model.config().vocabSize();
        for (int k = 0; k < maxTokens && tokens.length < model.config().seqLen(); k++) {
            float[] all = run(model, tokens, plan, site, null);
            float[] last = Arrays.copyOfRange(all, (tokens.length - 1) * vocab, tokens.length * vocab);
            int next = 0;
            for (int v = 1; v < vocab; v++) {
                if (last[v] > last[next]) {
                    next = v;
                }
            }
            if (next == model.tokenizer().eos() || next == model.tokenizer().bos()) {
                break;
            }
            tokens = Arrays.copyOf(tokens, tokens.length + 1);
            tokens[tokens.length - 1] = next;
        }
        int[] generated = Arrays.copyOfRange(tokens, promptTokens.length, tokens.length);
        String text = model.tokenizer().decode(promptTokens[promptTokens.length - 1], generated);
        if (generated.length == 0) {
            return new Reference(text, generated, null);
        }
        int width = site.width(model.config());
        float[][] activation = new float[1][];
        run(model, tokens, plan, site, activation);
        float[] pooled = new float[width];
        int from = promptTokens.length - 1;
        int to = tokens.length - 1; // exclusive: the last generated token chose nothing
        for (int t = from; t < to; t++) {
            for (int j = 0; j < width; j++) {
                pooled[j] += activation[0][t * width + j] / (to - from);
            }
        }
        return new Reference(text, generated, pooled);
    }

    /** The logits of every position, flattened; the site's output (T * width) into {@code activation[0]} when asked. */
    private static float[] run(LlamaModel model, int[] tokens, SteeringPlan plan, HookSite site, float[][] activation) {
        try (NDManager step = model.newSubManager()) {
            model.lendWeights(step);
            PromptBatch batch = PromptBatch.of(step, new int[][] {tokens});
            SiteHook[] hooks = new SiteHook[model.config().nLayers() * SiteHook.POINTS];
            if (plan != null && !plan.isEmpty()) {
                System.arraycopy(SteeringBatch.build(step, List.of(plan), model.config()).hooks(), 0, hooks, 0, hooks.length);
            }
            SiteHook own = hooks[site.index()];
            hooks[site.index()] = x -> {
                NDArray y = own == null ? x : own.apply(x);
                if (activation != null) {
                    activation[0] = y.get(new NDIndex("0, :, :")).toFloatArray();
                }
                return y;
            };
            return model.forwardPromptsAllPositions(batch, hooks).toFloatArray();
        }
    }
}
