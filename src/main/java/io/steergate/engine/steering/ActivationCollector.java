package io.steergate.engine.steering;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.model.PromptBatch;
import io.steergate.engine.model.SiteHook;
import io.steergate.engine.model.SteeringBatch;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Pooled activations for estimation: runs prompts through the model (whole prompts, left-padded batches, no KV
 * cache) with an optional plan applied to every row, and returns per requested site one vector per prompt of the
 * site's output after the site's own maps: the mean over the prompt's tokens (BOS included, padding excluded;
 * docs/steering-methods.md 1.5), or the prompt's last token ({@link Pooling}). The forward stops after the last layer
 * it needs.
 */
public final class ActivationCollector {

    /** How a prompt's activations become one vector per site. */
    public enum Pooling {
        /** The mean over the prompt's tokens: what the methods as published estimate from. */
        MEAN,
        /**
         * The last token's: where the model chooses what comes next, for prompts cut just before a choice
         * (EVALUATION.md, "Session 18": token-level estimation).
         */
        LAST;

        /** How map metadata, the command line and the training API name it: "mean", "last". */
        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /**
         * The pooling a wire name names.
         *
         * @throws IllegalArgumentException naming the field and the names there are ("pooling: must be mean or last,
         *     got 'first'")
         */
        public static Pooling parse(String wireName) {
            for (Pooling pooling : values()) {
                if (pooling.wireName().equals(wireName)) {
                    return pooling;
                }
            }
            throw new IllegalArgumentException("pooling: must be mean or last, got '" + wireName + "'");
        }
    }

    private final LlamaModel model;
    private final int batchSize;
    private final Pooling pooling;
    private final Runnable afterEachBatch;

    /** Mean pooling. */
    public ActivationCollector(LlamaModel model, int batchSize) {
        this(model, batchSize, Pooling.MEAN);
    }

    /**
     * @param model the model to run
     * @param batchSize prompts per forward, at least 1
     * @param pooling how each prompt's tokens are pooled
     */
    public ActivationCollector(LlamaModel model, int batchSize, Pooling pooling) {
        this(model, batchSize, pooling, () -> { });
    }

    /**
     * As {@link #ActivationCollector(LlamaModel, int, Pooling)}, running {@code afterEachBatch} after every batch's
     * forward: a collection over thousands of long prompts takes minutes, and a caller that must show it is alive
     * meanwhile (the retraining trainer refreshes its job's heartbeat) can do so there; an exception it throws ends
     * the collection.
     */
    public ActivationCollector(LlamaModel model, int batchSize, Pooling pooling, Runnable afterEachBatch) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
        }
        this.model = model;
        this.batchSize = batchSize;
        this.pooling = Objects.requireNonNull(pooling, "pooling");
        this.afterEachBatch = Objects.requireNonNull(afterEachBatch, "afterEachBatch");
    }

    /**
     * Collects the pooled activations of {@code prompts} at {@code sites}.
     *
     * @param prompts texts, each encoded with BOS and truncated to the model's context
     * @param sites where to record (each must exist in the model)
     * @param plan applied to every row while collecting; null or empty = clean
     * @return per site, float[prompts][the site's width] in prompt order; sites in forward order
     */
    public SortedMap<HookSite, float[][]> collect(List<String> prompts, Collection<HookSite> sites,
            SteeringPlan plan) {
        List<HookSite> ordered = new ArrayList<>(new java.util.TreeSet<>(sites));
        int layers = model.config().nLayers();
        for (HookSite site : ordered) {
            if (site.layer() >= layers) {
                throw new IllegalArgumentException("site " + site.name() + " is beyond the model's " + layers
                        + " layers");
            }
        }
        SortedMap<HookSite, float[][]> out = new TreeMap<>();
        ordered.forEach(s -> out.put(s, new float[prompts.size()][]));
        if (ordered.isEmpty() || prompts.isEmpty()) {
            return out;
        }
        int runLayers = ordered.get(ordered.size() - 1).layer() + 1;
        for (int from = 0; from < prompts.size(); from += batchSize) {
            int to = Math.min(prompts.size(), from + batchSize);
            int[][] tokens = model.encodeTruncated(prompts.subList(from, to));
            try (NDManager step = model.newSubManager()) {
                model.lendWeights(step);
                PromptBatch batch = PromptBatch.of(step, tokens);
                SiteHook[] hooks = hooks(step, plan, tokens.length);
                Map<HookSite, NDArray> pooled = new TreeMap<>();
                for (HookSite site : ordered) {
                    SiteHook map = hooks[site.index()];
                    hooks[site.index()] = x -> {
                        NDArray y = map == null ? x : map.apply(x);
                        // (B, width); left-padded, so the last column is every row's last token
                        pooled.put(site, pooling == Pooling.MEAN ? batch.meanPool(y) : y.get(":, -1, :"));
                        return y;
                    };
                }
                model.forwardPrompts(batch, hooks, runLayers);
                for (HookSite site : ordered) {
                    float[] flat = pooled.get(site).toFloatArray();
                    int width = site.width(model.config());
                    float[][] rows = out.get(site);
                    for (int b = 0; b < tokens.length; b++) {
                        rows[from + b] = java.util.Arrays.copyOfRange(flat, b * width, (b + 1) * width);
                    }
                }
            }
            afterEachBatch.run();
        }
        return out;
    }

    /** The plan's hooks for a batch of {@code rows} rows (a fresh array of nLayers * POINTS slots). */
    private SiteHook[] hooks(NDManager step, SteeringPlan plan, int rows) {
        SiteHook[] hooks = new SiteHook[model.config().nLayers() * SiteHook.POINTS];
        if (plan != null && !plan.isEmpty()) {
            SteeringBatch steered = SteeringBatch.build(step, Collections.nCopies(rows, plan), model.config());
            System.arraycopy(steered.hooks(), 0, hooks, 0, hooks.length);
        }
        return hooks;
    }
}
