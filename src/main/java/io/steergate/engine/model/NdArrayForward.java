package io.steergate.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDResource;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A {@link ContinuousBatch}'s forwards on {@link LlamaModel}'s NDArray forward: one {@link KvCache} for the batch,
 * the rows left-padded to the current column. Joiners are prefilled into a cache of their own, aligned to the column;
 * the running cache is reshaped (zeros on the left when a joiner's prompt is longer than the column) and the joiners'
 * appended on the batch axis; rows that stopped are sliced out and the columns trimmed to what live rows still need.
 *
 * <p>The model is locked for each forward, since each attaches the model's weights to its own manager.
 */
final class NdArrayForward implements BatchForward {

    private final LlamaModel model;
    private final LlamaConfig config;
    private NDManager arrays; // owns the cache and what is built from the rows
    private KvCache cache; // null while no row runs
    private KvCache joined; // the last prefill's, until it joins
    // built from the rows when they change (dirty), for decode steps
    private boolean dirty;
    private NDArray paddingMask; // (B, 1, 1, 1, width): MASKED left of each row's first token; null when no row has any
    private SteeringBatch steered;
    private SiteHook[] hooks;
    private NDResource[] attach;

    NdArrayForward(LlamaModel model) {
        this.model = model;
        this.config = model.config();
        this.arrays = model.manager().newSubManager();
    }

    @Override
    public float[] prefill(List<BatchRow> joiners, int at, int width, Map<Integer, float[]> columns) {
        int count = joiners.size();
        int prompt = joiners.stream().mapToInt(row -> row.prompt.length).max().orElseThrow();
        int start = at - prompt;
        KvCache prefilled = new KvCache(arrays, config, count, width);
        try {
            long[] tokens = new long[count * prompt]; // (Bj, P): padding is token 0 at position 0
            long[] positions = new long[count * prompt];
            float[] padding = new float[count * at]; // (Bj, 1, 1, 1, c'): MASKED left of each joiner's first token
            for (int j = 0; j < count; j++) {
                BatchRow row = joiners.get(j);
                Arrays.fill(padding, j * at, j * at + row.pad, LlamaModel.MASKED);
                for (int c = Math.max(row.pad, start); c < at; c++) {
                    tokens[j * prompt + c - start] = row.prompt[c - row.pad];
                    positions[j * prompt + c - start] = c - row.pad;
                }
            }
            float[] causal = new float[prompt * at]; // (P, c'): the query at column start + i sees keys up to it
            for (int i = 0; i < prompt; i++) {
                Arrays.fill(causal, i * at + start + i + 1, (i + 1) * at, LlamaModel.MASKED);
            }
            float[] logits;
            synchronized (model) {
                try (NDManager step = arrays.newSubManager()) {
                    SteeringBatch steering = SteeringBatch.build(step, joiners.stream().map(row -> row.steering).toList(),
                            model);
                    SiteHook[] prefillHooks = pooling(steering == null ? null : steering.hooks(), joiners, columns);
                    List<NDResource> lent = new ArrayList<>(model.longLived());
                    lent.addAll(prefilled.all());
                    step.tempAttachAll(lent.toArray(new NDResource[0]));
                    NDArray mask = step.create(padding, new Shape(count, 1, 1, 1, at))
                            .add(step.create(causal, new Shape(prompt, at))); // (Bj, 1, 1, P, c')
                    Shape shape = new Shape(count, prompt);
                    logits = model.forward(step.create(tokens, shape), step.create(positions, shape), mask, prefilled,
                            start, prefillHooks, config.nLayers()).toFloatArray(); // (Bj, vocab)
                }
            }
            joined = prefilled;
            return logits;
        } catch (RuntimeException e) {
            prefilled.close();
            throw e;
        }
    }

    @Override
    public void join(int running, int shift, int width) {
        if (cache == null) {
            cache = joined;
        } else {
            int[] all = new int[running];
            Arrays.setAll(all, b -> b);
            cache.reshape(all, -shift, width);
            cache.append(joined);
        }
        joined = null;
        dirty = true;
    }

    @Override
    public float[] decode(List<BatchRow> rows, int column, Map<Integer, float[]> columns) {
        if (dirty) {
            rebuild(rows, columns);
        }
        int count = rows.size();
        long[] tokens = new long[count]; // (B, 1)
        long[] positions = new long[count];
        for (int b = 0; b < count; b++) {
            BatchRow row = rows.get(b);
            tokens[b] = row.last();
            positions[b] = column - row.pad;
        }
        synchronized (model) {
            try (NDManager step = arrays.newSubManager()) {
                step.tempAttachAll(attach);
                NDArray mask = paddingMask == null ? null
                        : paddingMask.get("..., :{}", column + 1); // (B, 1, 1, 1, c + 1)
                Shape shape = new Shape(count, 1);
                return model.forward(step.create(tokens, shape), step.create(positions, shape), mask, cache, column,
                        hooks, config.nLayers()).toFloatArray(); // (B, vocab)
            }
        }
    }

    @Override
    public void keep(int[] index, int trim, int width) {
        cache.reshape(index, trim, width);
        dirty = true;
    }

    /**
     * The padding mask, steering and pooling hooks of the current rows, and what each decode step attaches; the
     * pooling hooks write into {@code columns}, the map every decode step of these rows is handed.
     */
    private void rebuild(List<BatchRow> rows, Map<Integer, float[]> columns) {
        closeDerived();
        int count = rows.size();
        int width = (int) cache.keys(0).getShape().get(3);
        float[] padding = new float[count * width];
        for (int b = 0; b < count; b++) {
            Arrays.fill(padding, b * width, b * width + rows.get(b).pad, LlamaModel.MASKED);
        }
        // adding zeros changes no score: without padding the step skips the mask (a dispatch per layer)
        boolean padded = rows.stream().anyMatch(row -> row.pad > 0);
        paddingMask = padded ? arrays.create(padding, new Shape(count, 1, 1, 1, width)) : null;
        steered = SteeringBatch.build(arrays, rows.stream().map(row -> row.steering).toList(), model);
        hooks = pooling(steered == null ? null : steered.hooks(), rows, columns);
        List<NDResource> lent = new ArrayList<>(model.longLived());
        lent.addAll(cache.all());
        if (paddingMask != null) {
            lent.add(paddingMask);
        }
        if (steered != null) {
            lent.addAll(steered.arrays());
        }
        attach = lent.toArray(new NDResource[0]);
        dirty = false;
    }

    /**
     * The hooks with, at each site some row of {@code forward} pools, the site's own hook (steering) followed by
     * copying the last column of its output into {@code columns}; {@code hooks} itself when none pools.
     */
    private SiteHook[] pooling(SiteHook[] hooks, List<BatchRow> forward, Map<Integer, float[]> columns) {
        Set<Integer> sites = new TreeSet<>();
        forward.forEach(row -> sites.addAll(row.pooledSites));
        if (sites.isEmpty()) {
            return hooks;
        }
        SiteHook[] all = hooks == null ? new SiteHook[config.nLayers() * SiteHook.POINTS] : hooks.clone();
        for (int site : sites) {
            SiteHook own = all[site] == null ? SiteHook.identity() : all[site];
            // copied out now: in generation each layer's arrays are closed with the layer
            all[site] = own.observed(y -> columns.put(site, y.get(new NDIndex(":, {}, :", y.getShape().get(1) - 1))
                    .toType(DataType.FLOAT32, false).toFloatArray()));
        }
        return all;
    }

    @Override
    public void release() {
        closeDerived();
        if (cache != null) {
            cache.close();
            cache = null;
        }
        if (joined != null) {
            joined.close();
            joined = null;
        }
        dirty = false;
    }

    @Override
    public void reset() {
        release();
        arrays.close();
        arrays = model.manager().newSubManager();
    }

    @Override
    public void close() {
        release();
        arrays.close();
    }

    private void closeDerived() {
        if (paddingMask != null) {
            paddingMask.close();
            paddingMask = null;
        }
        if (steered != null) {
            steered.arrays().forEach(NDArray::close);
            steered = null;
        }
        hooks = null;
        attach = null;
    }
}
