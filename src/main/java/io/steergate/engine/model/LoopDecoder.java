package io.steergate.engine.model;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
 * never a reduction, so the JIT vectorizes it without reordering a sum.
 *
 * <p>Thread-safe: the weights are only read; a row must be fed by one thread at a time.
 */
final class LoopDecoder {

    private final LlamaConfig config;
    private final float[] embedding; // (vocab, dim)
    private final float[][] rmsAtt; // per layer (dim), times sqrt(dim)
    private final float[][] wqkv; // per layer (dim, dim + 2 * kvDim)
    private final float[][] wo; // per layer (dim, dim)
    private final float[][] rmsFfn; // per layer (dim), times sqrt(dim)
    private final float[][] w13; // per layer (dim, 2 * hidden)
    private final float[][] w2; // per layer (hidden, dim)
    private final float[] rmsFinal; // (dim), times sqrt(dim)
    private final float[] wcls; // (dim, vocab)
    private final float[] cos; // (seqLen, headSize / 2): RoPE's cosine of each pair at each position
    private final float[] sin;

    LoopDecoder(LlamaConfig config, float[] embedding, float[][] rmsAtt, float[][] wqkv, float[][] wo,
            float[][] rmsFfn, float[][] w13, float[][] w2, float[] rmsFinal, float[] wcls) {
        this.config = config;
        this.embedding = embedding;
        this.rmsAtt = rmsAtt;
        this.wqkv = wqkv;
        this.wo = wo;
        this.rmsFfn = rmsFfn;
        this.w13 = w13;
        this.w2 = w2;
        this.rmsFinal = rmsFinal;
        this.wcls = wcls;
        int pairs = config.headSize() / 2;
        double[] invFreq = config.ropeInverseFrequencies();
        cos = new float[config.seqLen() * pairs];
        sin = new float[config.seqLen() * pairs];
        for (int pos = 0; pos < config.seqLen(); pos++) {
            for (int j = 0; j < pairs; j++) {
                float angle = pos * (float) invFreq[j]; // in float, as LlamaModel.ropeRotations and run.c
                cos[pos * pairs + j] = (float) Math.cos(angle);
                sin[pos * pairs + j] = (float) Math.sin(angle);
            }
        }
    }

    /** One sequence being generated: its keys and values, how many positions it holds, and its steering. */
    final class Row {
        private final int capacity;
        private final float[][] keys; // per layer (nKvHeads, headSize, capacity): position t of a head's dim d at [d][t]
        private final float[][] values; // per layer (nKvHeads, capacity, headSize)
        private final List<HookStage>[] stages; // per site (nLayers * POINTS), null where it is not steered
        private int length;

        @SuppressWarnings("unchecked")
        private Row(int capacity, RowSteering steering) {
            this.capacity = capacity;
            int kvDim = config.kvDim();
            keys = new float[config.nLayers()][kvDim * capacity];
            values = new float[config.nLayers()][kvDim * capacity];
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
        int dim = config.dim();
        int n = tokens.stream().mapToInt(t -> t.length).sum();
        Row[] rowOf = new Row[n]; // every token of the pass: its row and position
        int[] position = new int[n];
        int[] last = new int[rows.size()]; // each row's last token in the pass
        float[] x = new float[n * dim];
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
                System.arraycopy(embedding, fed[i] * dim, x, e * dim, dim);
            }
            last[r] = e - 1;
        }
        Pass pass = new Pass(n, rowOf, position, last, pooled, columns);
        for (int l = 0; l < config.nLayers(); l++) {
            block(l, x, pass);
        }
        for (int r = 0; r < rows.size(); r++) {
            rows.get(r).length += tokens.get(r).length;
        }
        float[] finals = new float[rows.size() * dim];
        for (int r = 0; r < rows.size(); r++) {
            System.arraycopy(x, last[r] * dim, finals, r * dim, dim);
        }
        return matmul(rmsnorm(finals, rows.size(), rmsFinal), rows.size(), dim, wcls, config.vocabSize());
    }

    /** What the layers of one forward share: each token's row and position, each row's last token, the pooling. */
    private record Pass(int n, Row[] rowOf, int[] position, int[] last, Set<Integer> pooled,
            Map<Integer, float[]> columns) {}

    /** Block {@code l} on the hidden states x (n, dim), in place. */
    private void block(int l, float[] x, Pass pass) {
        int n = pass.n();
        int dim = config.dim();
        int hidden = config.hiddenDim();
        float[] xb = rmsnorm(x, n, rmsAtt[l]);
        site(l, HookPoint.ATTN_NORM, xb, pass);
        int qkvWidth = dim + 2 * config.kvDim();
        float[] qkv = matmul(xb, n, dim, wqkv[l], qkvWidth);
        float[] heads = attention(l, qkv, pass);
        float[] attnOut = matmul(heads, n, dim, wo[l], dim);
        site(l, HookPoint.ATTN_OUT, attnOut, pass);
        add(x, attnOut);
        float[] hb = rmsnorm(x, n, rmsFfn[l]);
        site(l, HookPoint.MLP_NORM, hb, pass);
        float[] gateUp = matmul(hb, n, dim, w13[l], 2 * hidden);
        float[] h = new float[n * hidden];
        for (int e = 0; e < n; e++) {
            int g = e * 2 * hidden;
            for (int i = 0; i < hidden; i++) {
                float gate = gateUp[g + i];
                // SwiGLU: silu(gate) * up, silu as gate * sigmoid(gate) like the NDArray forward
                h[e * hidden + i] = gate * (1f / (1f + (float) Math.exp(-gate))) * gateUp[g + hidden + i];
            }
        }
        float[] mlpOut = matmul(h, n, hidden, w2[l], dim);
        site(l, HookPoint.MLP_OUT, mlpOut, pass);
        add(x, mlpOut);
        site(l, HookPoint.RESID, x, pass);
    }

    /**
     * RoPE on q and k, the keys and values written at each token's position, then each query head over its row's
     * positions up to its own: the heads' outputs (n, dim).
     */
    private float[] attention(int l, float[] qkv, Pass pass) {
        int n = pass.n();
        int dim = config.dim();
        int hs = config.headSize();
        int kvDim = config.kvDim();
        int kvMul = config.kvMul();
        int qkvWidth = dim + 2 * kvDim;
        for (int e = 0; e < n; e++) {
            int pos = pass.position()[e];
            rotate(qkv, e * qkvWidth, dim + kvDim, pos); // q and k, head after head
            Row row = pass.rowOf()[e];
            float[] keys = row.keys[l];
            float[] values = row.values[l];
            int cap = row.capacity;
            for (int c = 0; c < kvDim; c++) { // c = kvHead * hs + d
                keys[c * cap + pos] = qkv[e * qkvWidth + dim + c];
            }
            for (int kvh = 0; kvh < config.nKvHeads(); kvh++) {
                System.arraycopy(qkv, e * qkvWidth + dim + kvDim + kvh * hs, values, (kvh * cap + pos) * hs, hs);
            }
        }
        float[] heads = new float[n * dim];
        float[] scores = new float[config.seqLen()];
        for (int e = 0; e < n; e++) {
            int pos = pass.position()[e];
            Row row = pass.rowOf()[e];
            float[] keys = row.keys[l];
            float[] values = row.values[l];
            int cap = row.capacity;
            for (int h = 0; h < config.nHeads(); h++) {
                int kvh = h / kvMul;
                int q = e * qkvWidth + h * hs; // wq already carries the 1/sqrt(headSize) scale
                Arrays.fill(scores, 0, pos + 1, 0f);
                for (int d = 0; d < hs; d++) {
                    float qd = qkv[q + d];
                    int k = (kvh * hs + d) * cap;
                    for (int t = 0; t <= pos; t++) {
                        scores[t] += qd * keys[k + t];
                    }
                }
                softmax(scores, pos + 1);
                int out = e * dim + h * hs;
                for (int t = 0; t <= pos; t++) {
                    float a = scores[t];
                    int v = (kvh * cap + t) * hs;
                    for (int d = 0; d < hs; d++) {
                        heads[out + d] += a * values[v + d];
                    }
                }
            }
        }
        return heads;
    }

    /** Rotates each interleaved pair of {@code width} floats from {@code from} by position {@code pos}'s angles. */
    private void rotate(float[] a, int from, int width, int pos) {
        int hs = config.headSize();
        int pairs = hs / 2;
        for (int i = 0; i < width; i += 2) {
            int j = pos * pairs + (i % hs) / 2;
            float fcr = cos[j];
            float fci = sin[j];
            float v0 = a[from + i];
            float v1 = a[from + i + 1];
            a[from + i] = v0 * fcr - v1 * fci;
            a[from + i + 1] = v0 * fci + v1 * fcr;
        }
    }

    /** The row's steering at (layer, point) applied to each token's activation in place, then the pooled copy. */
    private void site(int layer, HookPoint point, float[] a, Pass pass) {
        int site = SiteHook.index(layer, point);
        int width = point.width(config);
        for (int e = 0; e < pass.n(); e++) {
            List<HookStage> stages = pass.rowOf()[e].stages[site];
            if (stages == null) {
                continue;
            }
            int off = e * width;
            for (HookStage stage : stages) {
                float[] omega = stage.omega();
                float[] beta = stage.beta();
                float[] lo = stage.lo();
                float[] hi = stage.hi();
                for (int i = 0; i < width; i++) {
                    float v = a[off + i];
                    if (lo == null || (lo[i] < v && v < hi[i])) { // a support is a mask, not a clamp
                        a[off + i] = v * omega[i] + beta[i];
                    }
                }
            }
        }
        if (pass.pooled().contains(site)) {
            int[] last = pass.last();
            float[] column = new float[last.length * width];
            for (int r = 0; r < last.length; r++) {
                System.arraycopy(a, last[r] * width, column, r * width, width);
            }
            pass.columns().put(site, column);
        }
    }

    /** w * x / sqrt(sum(x^2) + dim * eps) per row of x (rows, dim), w stored times sqrt(dim) as in LlamaModel. */
    private float[] rmsnorm(float[] x, int rows, float[] weight) {
        int dim = config.dim();
        float epsilon = dim * config.normEps();
        float[] out = new float[rows * dim];
        for (int r = 0; r < rows; r++) {
            int off = r * dim;
            float ss = 0f;
            for (int i = 0; i < dim; i++) {
                ss += x[off + i] * x[off + i];
            }
            float rms = (float) Math.sqrt(ss + epsilon);
            for (int i = 0; i < dim; i++) {
                out[off + i] = x[off + i] / rms * weight[i];
            }
        }
        return out;
    }

    /** Softmax of the first {@code length} scores in place: exp(s - max) / sum. */
    private static void softmax(float[] s, int length) {
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
     * x (rows, in) times w (in, out): each output sums its inputs in order; the inner loop runs over outputs so that it
     * vectorizes, and each weight row is read once for all rows of x.
     */
    static float[] matmul(float[] x, int rows, int in, float[] w, int out) {
        float[] y = new float[rows * out];
        for (int j = 0; j < in; j++) {
            int wj = j * out;
            for (int r = 0; r < rows; r++) {
                float xj = x[r * in + j];
                int yr = r * out;
                for (int i = 0; i < out; i++) {
                    y[yr + i] += xj * w[wj + i];
                }
            }
        }
        return y;
    }

    private static void add(float[] x, float[] delta) {
        for (int i = 0; i < x.length; i++) {
            x[i] += delta[i];
        }
    }
}
