package io.steergate.engine.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Supplier;

/**
 * Generation's forward pass on the CPU in plain Java loops over float arrays: the same decoder as
 * {@link LlamaModel}'s NDArray forward (weights as it stores them: transposed to (in, out), wq scaled by
 * 1/sqrt(headSize), RMSNorm weights times sqrt(dim)), for generation only (no autograd).
 *
 * <p>Why it exists: a DJL call costs 1.5-6 us of CPU whatever its size, and a decode step of a small model is about
 * 200 of them, which holds batch 1 at a fifth of llama2.c's run.c (BENCHMARKS.md). Here a step is its multiply-adds.
 *
 * <p>Each {@link Row} owns its keys, values and positions, and every product sums over its inputs in order (j = 0, 1,
 * ...): a row computes the same bits whatever other rows share its forward, however its tokens are chunked, and
 * however many rows there are. The innermost loop of every product runs over outputs ({@code y[i] += x_j * W[j][i]}),
 * never a reduction, so the JIT vectorizes it without reordering a sum; vectors are separate arrays (a weight matrix is
 * one array per input, a batch one array per token) because HotSpot's C2 vectorizes {@code y[i] += a * w[i]} but not
 * the same loop at offsets into one flat array (it cannot rule out that they overlap): 3-4x on this machine.
 *
 * <p>A forward of several rows with enough tokens splits them across {@link SplitHelpers}' threads (one per core
 * beside the caller's): rows never read each other, so each thread runs whole rows and the bits stay the same.
 *
 * <p>Thread-safe: the weights are only read, each thread works in arrays of its own ({@link RowPool}); a row must be
 * fed by one thread at a time.
 */
final class LoopDecoder {

    // SplitHelpers' threads (as many as the common pool's) and the caller's
    private static final int THREADS = ForkJoinPool.getCommonPoolParallelism() + 1;
    // below this a second thread costs more (its own pass over every weight, the hand-over) than it saves; with
    // SplitHelpers' hand-over, 2 gains 1.3x at batch 4-6 over 4, and 1 loses at batch 3 (0.77x, BENCHMARKS.md)
    private static final int MIN_TOKENS_PER_THREAD = 2;
    // a thread keeps the rows its forwards work in for up to this many tokens (decode steps of up to 64 rows); a longer
    // pass (a prefill) works in rows of its own, so that one long prompt does not pin its buffers to the thread
    private static final int MAX_KEPT_TOKENS = 64;
    /**
     * Whether this JVM has the Vector API for {@link VectorKernels} (started with --add-modules jdk.incubator.vector);
     * read here, not there, because touching VectorKernels without the module fails.
     */
    static final boolean VECTOR_API = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    /** Set to true, attention and SwiGLU keep the scalar loops even with the Vector API there (comparisons, a way out). */
    static final String SCALAR_KERNELS_PROPERTY = "steergate.model.scalar-kernels";

    private final LlamaConfig config;
    private final float[][] embedding; // (vocab, dim)
    private final float[][] rmsAtt; // per layer (dim), times sqrt(dim)
    private final float[][][] wqkv; // per layer (dim, dim + 2 * kvDim)
    private final float[][][] wo; // per layer (dim, dim)
    private final float[][] rmsFfn; // per layer (dim), times sqrt(dim)
    private final float[][][] w13; // per layer (dim, 2 * hidden)
    private final float[][][] w2; // per layer (hidden, dim)
    private final float[] rmsFinal; // (dim), times sqrt(dim)
    private final float[][] wcls; // (dim, vocab)
    private final float[][] cos; // (seqLen, headSize / 2): RoPE's cosine of each pair at each position
    private final float[][] sin;
    private final boolean vectorKernels; // attention and SwiGLU on VectorKernels
    private final ThreadLocal<RowPool> kept = new ThreadLocal<>(); // each thread's rows for its forwards

    /**
     * From the flat (in, out) arrays LlamaModel builds: the matrices are copied into one array per input row; the norm
     * weights are kept as they are (the model's own, read only here and there).
     */
    LoopDecoder(LlamaConfig config, float[] embedding, float[][] rmsAtt, float[][] wqkv, float[][] wo,
            float[][] rmsFfn, float[][] w13, float[][] w2, float[] rmsFinal, float[] wcls) {
        this.config = config;
        this.vectorKernels = VECTOR_API && !Boolean.getBoolean(SCALAR_KERNELS_PROPERTY);
        int dim = config.dim();
        int hidden = config.hiddenDim();
        int layers = config.nLayers();
        this.embedding = matrix(embedding, config.vocabSize(), dim);
        this.rmsAtt = rmsAtt;
        this.rmsFfn = rmsFfn;
        this.wqkv = new float[layers][][];
        this.wo = new float[layers][][];
        this.w13 = new float[layers][][];
        this.w2 = new float[layers][][];
        for (int l = 0; l < layers; l++) {
            this.wqkv[l] = matrix(wqkv[l], dim, dim + 2 * config.kvDim());
            this.wo[l] = matrix(wo[l], dim, dim);
            this.w13[l] = matrix(w13[l], dim, 2 * hidden);
            this.w2[l] = matrix(w2[l], hidden, dim);
        }
        this.rmsFinal = rmsFinal;
        this.wcls = matrix(wcls, dim, config.vocabSize());
        int pairs = config.headSize() / 2;
        double[] invFreq = config.ropeInverseFrequencies();
        cos = new float[config.seqLen()][pairs];
        sin = new float[config.seqLen()][pairs];
        for (int pos = 0; pos < config.seqLen(); pos++) {
            for (int j = 0; j < pairs; j++) {
                float angle = pos * (float) invFreq[j]; // in float, as LlamaModel.ropeRotations and run.c
                cos[pos][j] = (float) Math.cos(angle);
                sin[pos][j] = (float) Math.sin(angle);
            }
        }
    }

    /** Which kernels attention and SwiGLU run on, and why the scalar ones when they do. */
    String kernels() {
        if (vectorKernels) {
            return "Vector API";
        }
        return VECTOR_API ? "scalar (-D" + SCALAR_KERNELS_PROPERTY + "=true)"
                : "scalar (no --add-modules jdk.incubator.vector)";
    }

    /** One sequence being generated: its keys and values, how many positions it holds, and its steering. */
    final class Row {
        private final int capacity;
        private final float[][][] keys; // per layer (kvDim, capacity): position t of channel c at [c][t]
        private final float[][][] values; // per layer (kvDim, capacity), as the keys
        private final List<HookStage>[] stages; // per site (nLayers * POINTS), null where it is not steered
        private int length;

        @SuppressWarnings("unchecked")
        private Row(int capacity, RowSteering steering) {
            this.capacity = capacity;
            keys = new float[config.nLayers()][config.kvDim()][capacity];
            values = new float[config.nLayers()][config.kvDim()][capacity];
            stages = new List[config.nLayers() * SiteHook.POINTS];
            if (steering != null) {
                steering.stagesBySite().forEach((site, list) -> stages[site] = list.isEmpty() ? null : list);
            }
        }

        /** Positions fed so far. */
        int length() {
            return length;
        }
    }

    /**
     * A row for up to {@code capacity} positions (prompt plus what it may generate), steered by {@code steering} (null
     * for none; its sites and widths already checked against the model, see {@link SteeringBatch#build}).
     */
    Row newRow(int capacity, RowSteering steering) {
        if (capacity < 1 || capacity > config.seqLen()) {
            throw new IllegalArgumentException("a row holds 1 to " + config.seqLen() + " positions, not " + capacity);
        }
        return new Row(capacity, steering);
    }

    /**
     * Feeds {@code tokens.get(r)} (at least one) to {@code rows.get(r)} at its next positions, all rows in one pass.
     *
     * @param pooled the sites whose output at each row's last token is copied into {@code columns}: site -> (rows x
     *     width), in row order
     * @return the logits (rows x vocab) of each row's last token
     * @throws IllegalStateException when a row would hold more positions than its capacity
     */
    float[] forward(List<Row> rows, List<int[]> tokens, Set<Integer> pooled, Map<Integer, float[]> columns) {
        int n = tokens.stream().mapToInt(t -> t.length).sum();
        int groups = Math.min(Math.min(THREADS, rows.size()), n / MIN_TOKENS_PER_THREAD);
        if (groups > 1) {
            return forwardSplit(rows, tokens, pooled, columns, groups);
        }
        return forwardTogether(rows, tokens, pooled, columns);
    }

    /**
     * Rows never read each other, so the rows are split into {@code groups} runs of consecutive rows, each run's forward
     * on a thread of its own (SplitHelpers' and this one); the results are joined in row order. Each run reads all
     * the weights: worth it only with enough tokens per run.
     */
    private float[] forwardSplit(List<Row> rows, List<int[]> tokens, Set<Integer> pooled, Map<Integer, float[]> columns,
            int groups) {
        int[] bounds = new int[groups + 1]; // run g is rows [bounds[g], bounds[g + 1])
        int n = tokens.stream().mapToInt(t -> t.length).sum();
        for (int r = 0, g = 1, fed = 0; r < rows.size() && g < groups; r++) {
            fed += tokens.get(r).length;
            if (fed >= (long) n * g / groups) {
                bounds[g++] = r + 1;
            }
        }
        bounds[groups] = rows.size();
        List<Map<Integer, float[]>> runColumns = new ArrayList<>();
        List<Supplier<float[]>> runs = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            List<Row> runRows = rows.subList(bounds[g], bounds[g + 1]);
            List<int[]> runTokens = tokens.subList(bounds[g], bounds[g + 1]);
            Map<Integer, float[]> own = new HashMap<>();
            runColumns.add(own);
            runs.add(() -> forwardTogether(runRows, runTokens, pooled, own));
        }
        List<SplitHelpers.Run<float[]>> others = runs.subList(1, groups).stream().map(SplitHelpers::submit).toList();
        List<float[]> logits = new ArrayList<>();
        logits.add(runs.get(0).get()); // the first run on this thread
        for (SplitHelpers.Run<float[]> other : others) {
            logits.add(other.join());
        }
        for (int site : pooled) {
            columns.put(site, concat(runColumns.stream().map(own -> own.get(site)).toList()));
        }
        return concat(logits);
    }

    private static float[] concat(List<float[]> parts) {
        float[] all = new float[parts.stream().mapToInt(p -> p.length).sum()];
        int at = 0;
        for (float[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    /** {@link #forward} of all rows on this thread. */
    private float[] forwardTogether(List<Row> rows, List<int[]> tokens, Set<Integer> pooled,
            Map<Integer, float[]> columns) {
        int n = tokens.stream().mapToInt(t -> t.length).sum();
        Row[] rowOf = new Row[n]; // every token of the pass: its row and position
        int[] position = new int[n];
        int[] last = new int[rows.size()]; // each row's last token in the pass
        Scratch scratch = scratch(n, rows.size());
        float[][] x = scratch.x;
        for (int r = 0, e = 0; r < rows.size(); r++) {
            Row row = rows.get(r);
            int[] fed = tokens.get(r);
            if (fed.length == 0 || row.length + fed.length > row.capacity) {
                throw new IllegalStateException("row " + r + " holds " + row.length + " of " + row.capacity
                        + " positions; " + fed.length + " more do not fit");
            }
            for (int i = 0; i < fed.length; i++, e++) {
                rowOf[e] = row;
                position[e] = row.length + i;
                System.arraycopy(embedding[fed[i]], 0, x[e], 0, x[e].length);
            }
            last[r] = e - 1;
        }
        Pass pass = new Pass(rowOf, position, last, pooled, columns);
        for (int l = 0; l < config.nLayers(); l++) {
            block(l, x, pass, scratch);
        }
        for (int r = 0; r < rows.size(); r++) {
            rows.get(r).length += tokens.get(r).length;
        }
        float[][] finals = new float[rows.size()][];
        for (int r = 0; r < rows.size(); r++) {
            finals[r] = x[last[r]];
        }
        float[][] logits = matmul(rmsnorm(finals, rmsFinal, scratch.finalNormed), wcls, scratch.logits);
        int vocab = config.vocabSize();
        float[] flat = new float[rows.size() * vocab];
        for (int r = 0; r < rows.size(); r++) {
            System.arraycopy(logits[r], 0, flat, r * vocab, vocab);
        }
        return flat;
    }

    /** What the layers of one forward share: each token's row and position, each row's last token, the pooling. */
    private record Pass(Row[] rowOf, int[] position, int[] last, Set<Integer> pooled, Map<Integer, float[]> columns) {}

    /**
     * A thread's rows for every array a forward works in, as many as the largest forwards it has kept them for: the
     * hidden states and each layer's intermediates per token (overwritten layer after layer), the final norm and logits
     * per row (a prefill of one long prompt is many tokens but one row of logits). Before,
     * every layer allocated its eight intermediates afresh, about a third of what the worker allocated per request
     * (BENCHMARKS.md). Static, so that a thread's kept rows do not hold a closed model's decoder (and its weights)
     * alive.
     */
    private static final class RowPool {
        final int tokens;
        final int rows;
        final float[][] x; // (tokens, dim): the hidden states, updated in place
        final float[][] xb; // (tokens, dim): attention's input norm
        final float[][] qkv; // (tokens, dim + 2 * kvDim)
        final float[][] heads; // (tokens, dim)
        final float[][] attnOut; // (tokens, dim)
        final float[][] hb; // (tokens, dim): the MLP's input norm
        final float[][] gateUp; // (tokens, 2 * hidden)
        final float[][] h; // (tokens, hidden)
        final float[][] mlpOut; // (tokens, dim)
        final float[][] finalNormed; // (rows, dim)
        final float[][] logits; // (rows, vocab)
        final float[] out; // (headSize): one head's attention output
        private float[] scores = new float[0]; // grown to the furthest position attended so far

        RowPool(LlamaConfig config, int tokens, int rows) {
            int dim = config.dim();
            int hidden = config.hiddenDim();
            this.tokens = tokens;
            this.rows = rows;
            x = new float[tokens][dim];
            xb = new float[tokens][dim];
            qkv = new float[tokens][dim + 2 * config.kvDim()];
            heads = new float[tokens][dim];
            attnOut = new float[tokens][dim];
            hb = new float[tokens][dim];
            gateUp = new float[tokens][2 * hidden];
            h = new float[tokens][hidden];
            mlpOut = new float[tokens][dim];
            finalNormed = new float[rows][dim];
            logits = new float[rows][config.vocabSize()];
            out = new float[config.headSize()];
        }

        /** At least {@code length} scores (a context of 128k positions must not cost 512 KB per layer and step). */
        float[] scores(int length) {
            if (scores.length < length) {
                scores = new float[length];
            }
            return scores;
        }
    }

    /**
     * One forward's arrays: the first {@code tokens} (or {@code rows}) of a pool's rows, in arrays exactly that long
     * because the loops run over an array's length. Only these outer arrays are new per forward.
     */
    private static final class Scratch {
        final float[][] x;
        final float[][] xb;
        final float[][] qkv;
        final float[][] heads;
        final float[][] attnOut;
        final float[][] hb;
        final float[][] gateUp;
        final float[][] h;
        final float[][] mlpOut;
        final float[][] finalNormed;
        final float[][] logits;
        final float[] out;
        private final RowPool pool;

        Scratch(RowPool pool, int tokens, int rows) {
            this.pool = pool;
            x = first(pool.x, tokens);
            xb = first(pool.xb, tokens);
            qkv = first(pool.qkv, tokens);
            heads = first(pool.heads, tokens);
            attnOut = first(pool.attnOut, tokens);
            hb = first(pool.hb, tokens);
            gateUp = first(pool.gateUp, tokens);
            h = first(pool.h, tokens);
            mlpOut = first(pool.mlpOut, tokens);
            finalNormed = first(pool.finalNormed, rows);
            logits = first(pool.logits, rows);
            out = pool.out;
        }

        float[] scores(int length) {
            return pool.scores(length);
        }

        private static float[][] first(float[][] rows, int n) {
            return n == rows.length ? rows : Arrays.copyOf(rows, n);
        }
    }

    /**
     * A forward's arrays of {@code tokens} tokens in {@code rows} rows, from this thread's kept rows when there are
     * enough (every decode step after the first, whatever joins and leaves a continuous batch), else from new ones:
     * kept, as large as the old and the new forward together need, when the forward is at most
     * {@value #MAX_KEPT_TOKENS} tokens; for this forward only when it is longer.
     */
    private Scratch scratch(int tokens, int rows) {
        RowPool pool = kept.get();
        if (pool != null && pool.tokens >= tokens && pool.rows >= rows) {
            return new Scratch(pool, tokens, rows);
        }
        if (tokens > MAX_KEPT_TOKENS) {
            return new Scratch(new RowPool(config, tokens, rows), tokens, rows);
        }
        pool = pool == null ? new RowPool(config, tokens, rows)
                : new RowPool(config, Math.max(tokens, pool.tokens), Math.max(rows, pool.rows));
        kept.set(pool);
        return new Scratch(pool, tokens, rows);
    }

    /** Block {@code l} on the hidden states x (tokens, dim), in place. */
    private void block(int l, float[][] x, Pass pass, Scratch scratch) {
        float[][] xb = rmsnorm(x, rmsAtt[l], scratch.xb);
        site(l, HookPoint.ATTN_NORM, xb, pass);
        float[][] heads = attention(l, matmul(xb, wqkv[l], scratch.qkv), pass, scratch);
        float[][] attnOut = matmul(heads, wo[l], scratch.attnOut);
        site(l, HookPoint.ATTN_OUT, attnOut, pass);
        add(x, attnOut);
        float[][] hb = rmsnorm(x, rmsFfn[l], scratch.hb);
        site(l, HookPoint.MLP_NORM, hb, pass);
        float[][] gateUp = matmul(hb, w13[l], scratch.gateUp);
        float[][] h = scratch.h;
        for (int e = 0; e < x.length; e++) {
            if (vectorKernels) {
                VectorKernels.swiglu(gateUp[e], h[e]);
            } else {
                swiglu(gateUp[e], h[e]);
            }
        }
        float[][] mlpOut = matmul(h, w2[l], scratch.mlpOut);
        site(l, HookPoint.MLP_OUT, mlpOut, pass);
        add(x, mlpOut);
        site(l, HookPoint.RESID, x, pass);
    }

    /**
     * RoPE on q and k, the keys and values written at each token's position, then each query head over its row's
     * positions up to its own: the heads' outputs (tokens, dim), in {@code scratch.heads}.
     */
    private float[][] attention(int l, float[][] qkv, Pass pass, Scratch scratch) {
        int n = qkv.length;
        int dim = config.dim();
        int hs = config.headSize();
        int kvDim = config.kvDim();
        int kvMul = config.kvMul();
        for (int e = 0; e < n; e++) {
            int pos = pass.position()[e];
            float[] a = qkv[e];
            rotate(a, dim + kvDim, pos); // q and k, head after head
            Row row = pass.rowOf()[e];
            float[][] keys = row.keys[l];
            float[][] values = row.values[l];
            for (int c = 0; c < kvDim; c++) {
                keys[c][pos] = a[dim + c];
                values[c][pos] = a[dim + kvDim + c];
            }
        }
        float[][] heads = scratch.heads;
        float[] scores = scratch.scores(Arrays.stream(pass.position()).max().orElse(0) + 1);
        float[] out = scratch.out;
        for (int e = 0; e < n; e++) {
            int pos = pass.position()[e];
            Row row = pass.rowOf()[e];
            float[][] keys = row.keys[l];
            float[][] values = row.values[l];
            float[] q = qkv[e]; // wq already carries the 1/sqrt(headSize) scale
            for (int h = 0; h < config.nHeads(); h++) {
                int kvh = h / kvMul;
                if (vectorKernels && pos + 1 >= VectorKernels.MIN_POSITIONS) {
                    VectorKernels.attend(q, h * hs, keys, values, kvh * hs, pos + 1, scores, out);
                } else {
                    scores(q, h * hs, keys, kvh * hs, hs, pos + 1, scores);
                    if (vectorKernels) {
                        VectorKernels.softmax(scores, pos + 1);
                    } else {
                        softmax(scores, pos + 1);
                    }
                    weightedValues(scores, values, kvh * hs, pos + 1, out);
                }
                System.arraycopy(out, 0, heads[e], h * hs, hs);
            }
        }
        return heads;
    }

    /**
     * scores[t] = sum over d of q[from + d] * keys[first + d][t], for t below {@code length}, d in order. Four dims per
     * pass over the scores (the same sums, a quarter of the loads and stores); the loop over t vectorizes.
     */
    private static void scores(float[] q, int from, float[][] keys, int first, int hs, int length, float[] scores) {
        Arrays.fill(scores, 0, length, 0f);
        int d = 0;
        for (; d + 3 < hs; d += 4) {
            float q0 = q[from + d];
            float q1 = q[from + d + 1];
            float q2 = q[from + d + 2];
            float q3 = q[from + d + 3];
            float[] k0 = keys[first + d];
            float[] k1 = keys[first + d + 1];
            float[] k2 = keys[first + d + 2];
            float[] k3 = keys[first + d + 3];
            for (int t = 0; t < length; t++) {
                float sum = scores[t];
                sum += q0 * k0[t];
                sum += q1 * k1[t];
                sum += q2 * k2[t];
                sum += q3 * k3[t];
                scores[t] = sum;
            }
        }
        for (; d < hs; d++) {
            float qd = q[from + d];
            float[] k = keys[first + d];
            for (int t = 0; t < length; t++) {
                scores[t] += qd * k[t];
            }
        }
    }

    /**
     * out[d] = sum over t below {@code length} of weights[t] * values[first + d][t], t in order: four dims at once,
     * four independent sums, each reading its dim's positions in a row of memory. Attention takes
     * {@link VectorKernels#weightedValues} instead from 32 positions on where the JVM has the Vector API.
     */
    static void weightedValues(float[] weights, float[][] values, int first, int length, float[] out) {
        int hs = out.length;
        int d = 0;
        for (; d + 3 < hs; d += 4) {
            float[] v0 = values[first + d];
            float[] v1 = values[first + d + 1];
            float[] v2 = values[first + d + 2];
            float[] v3 = values[first + d + 3];
            float s0 = 0f;
            float s1 = 0f;
            float s2 = 0f;
            float s3 = 0f;
            for (int t = 0; t < length; t++) {
                float a = weights[t];
                s0 += a * v0[t];
                s1 += a * v1[t];
                s2 += a * v2[t];
                s3 += a * v3[t];
            }
            out[d] = s0;
            out[d + 1] = s1;
            out[d + 2] = s2;
            out[d + 3] = s3;
        }
        for (; d < hs; d++) {
            float[] v = values[first + d];
            float sum = 0f;
            for (int t = 0; t < length; t++) {
                sum += weights[t] * v[t];
            }
            out[d] = sum;
        }
    }

    /** Rotates each interleaved pair of the first {@code width} floats (whole heads) by position {@code pos}. */
    private void rotate(float[] a, int width, int pos) {
        int hs = config.headSize();
        float[] c = cos[pos];
        float[] s = sin[pos];
        for (int i = 0; i < width; i += 2) {
            int j = (i % hs) / 2;
            float v0 = a[i];
            float v1 = a[i + 1];
            a[i] = v0 * c[j] - v1 * s[j];
            a[i + 1] = v0 * s[j] + v1 * c[j];
        }
    }

    /** The row's steering at (layer, point) applied to each token's activation in place, then the pooled copy. */
    private void site(int layer, HookPoint point, float[][] a, Pass pass) {
        int site = SiteHook.index(layer, point);
        for (int e = 0; e < a.length; e++) {
            List<HookStage> stages = pass.rowOf()[e].stages[site];
            if (stages == null) {
                continue;
            }
            float[] v = a[e];
            for (HookStage stage : stages) {
                float[] omega = stage.omega();
                float[] beta = stage.beta();
                float[] lo = stage.lo();
                float[] hi = stage.hi();
                if (stage.isGated()) {
                    gatedStage(v, stage);
                    continue;
                }
                if (lo == null) {
                    for (int i = 0; i < v.length; i++) { // without a branch, so that it vectorizes
                        v[i] = v[i] * omega[i] + beta[i];
                    }
                    continue;
                }
                for (int i = 0; i < v.length; i++) {
                    if (lo[i] < v[i] && v[i] < hi[i]) { // a support is a mask, not a clamp
                        v[i] = v[i] * omega[i] + beta[i];
                    }
                }
            }
        }
        if (pass.pooled().contains(site)) {
            int[] last = pass.last();
            int width = point.width(config);
            float[] column = new float[last.length * width];
            for (int r = 0; r < last.length; r++) {
                System.arraycopy(a[last[r]], 0, column, r * width, width);
            }
            pass.columns().put(site, column);
        }
    }

    /**
     * A token-gated stage (DSAS) in place: v + g (stage(v) - v), g = sigmoid(gate . v + bias) read from v before the
     * stage, one dot product summed from index 0 ({@link HookStage#gateOf}); outside a support stage(v) = v, so v stays.
     */
    private static void gatedStage(float[] v, HookStage stage) {
        float g = HookStage.gateOf(v, stage.gate(), stage.gateBias());
        float[] omega = stage.omega();
        float[] beta = stage.beta();
        float[] lo = stage.lo();
        float[] hi = stage.hi();
        for (int i = 0; i < v.length; i++) {
            boolean inside = lo == null || (lo[i] < v[i] && v[i] < hi[i]);
            float steered = inside ? v[i] * omega[i] + beta[i] : v[i];
            v[i] = v[i] + (steered - v[i]) * g;
        }
    }

    /** w * x / sqrt(sum(x^2) + dim * eps) per row of x into {@code out}, w stored times sqrt(dim) as in LlamaModel. */
    private float[][] rmsnorm(float[][] x, float[] weight, float[][] out) {
        float epsilon = config.dim() * config.normEps();
        for (int e = 0; e < x.length; e++) {
            float[] v = x[e];
            float ss = 0f;
            for (float f : v) {
                ss += f * f;
            }
            float rms = (float) Math.sqrt(ss + epsilon);
            float[] o = out[e];
            for (int i = 0; i < v.length; i++) {
                o[i] = v[i] / rms * weight[i];
            }
        }
        return out;
    }

    /**
     * The MLP's SwiGLU: out[i] = silu(gate[i]) * up[i], where gate and up are the two halves of {@code gateUp} and
     * silu is gate * sigmoid(gate), as the NDArray forward computes it.
     */
    static void swiglu(float[] gateUp, float[] out) {
        int hidden = out.length;
        for (int i = 0; i < hidden; i++) {
            float gate = gateUp[i];
            out[i] = gate * (1f / (1f + (float) Math.exp(-gate))) * gateUp[hidden + i];
        }
    }

    /** Softmax of the first {@code length} scores in place: exp(s - max) / sum. */
    static void softmax(float[] s, int length) {
        float max = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < length; t++) {
            max = Math.max(max, s[t]);
        }
        float sum = 0f;
        for (int t = 0; t < length; t++) {
            s[t] = (float) Math.exp(s[t] - max);
            sum += s[t];
        }
        for (int t = 0; t < length; t++) {
            s[t] /= sum;
        }
    }

    /**
     * x (tokens, in) times w (in, out): each output sums its inputs in order; the inner loop runs over outputs so that
     * it vectorizes, and each weight row is read once for all tokens. Four inputs per pass, added left to right in one
     * expression (Java neither reorders nor fuses float arithmetic, so the bits are those of one input per pass): the
     * output row is loaded and stored once per four inputs instead of once per input, which bounded the loop
     * (1.4-2.3x on this machine at stories260K's shapes). The product goes into {@code y} (tokens, out), which is
     * cleared first.
     */
    static float[][] matmul(float[][] x, float[][] w, float[][] y) {
        int out = w[0].length;
        for (float[] ye : y) {
            Arrays.fill(ye, 0f);
        }
        int j = 0;
        for (; j + 3 < w.length; j += 4) {
            float[] w0 = w[j];
            float[] w1 = w[j + 1];
            float[] w2 = w[j + 2];
            float[] w3 = w[j + 3];
            for (int e = 0; e < x.length; e++) {
                float[] xe = x[e];
                float x0 = xe[j];
                float x1 = xe[j + 1];
                float x2 = xe[j + 2];
                float x3 = xe[j + 3];
                float[] ye = y[e];
                for (int i = 0; i < out; i++) {
                    ye[i] = ye[i] + x0 * w0[i] + x1 * w1[i] + x2 * w2[i] + x3 * w3[i];
                }
            }
        }
        for (; j < w.length; j++) {
            float[] wj = w[j];
            for (int e = 0; e < x.length; e++) {
                float xj = x[e][j];
                float[] ye = y[e];
                for (int i = 0; i < out; i++) {
                    ye[i] += xj * wj[i];
                }
            }
        }
        return y;
    }

    private static void add(float[][] x, float[][] delta) {
        for (int e = 0; e < x.length; e++) {
            float[] v = x[e];
            float[] d = delta[e];
            for (int i = 0; i < v.length; i++) {
                v[i] += d[i];
            }
        }
    }

    /** A flat (rows, cols) array as one array per row. */
    private static float[][] matrix(float[] flat, int rows, int cols) {
        float[][] m = new float[rows][];
        for (int r = 0; r < rows; r++) {
            m[r] = Arrays.copyOfRange(flat, r * cols, (r + 1) * cols);
        }
        return m;
    }
}
