package io.steergate.engine.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A plain float-loop port of llama2.c's run.c forward pass, the oracle for the NDArray forward: one position at a
 * time, W stored (out, in) exactly as in the checkpoint, no batching, no tricks.
 */
final class ReferenceLlama {

    // Config
    final int dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, headSize, kvDim, kvMul;
    // TransformerWeights
    final float[] tokenEmbeddingTable; // (vocab_size, dim)
    final float[] rmsAttWeight; // (layer, dim)
    final float[] wq; // (layer, dim, n_heads * head_size)
    final float[] wk; // (layer, dim, n_kv_heads * head_size)
    final float[] wv; // (layer, dim, n_kv_heads * head_size)
    final float[] wo; // (layer, n_heads * head_size, dim)
    final float[] rmsFfnWeight; // (layer, dim)
    final float[] w1; // (layer, hidden_dim, dim)
    final float[] w2; // (layer, dim, hidden_dim)
    final float[] w3; // (layer, hidden_dim, dim)
    final float[] rmsFinalWeight; // (dim)
    final float[] wcls; // (vocab_size, dim)
    // RoPE: the inverse frequency of each pair of a head; null for run.c's 1 / 10000^(2j/headSize)
    final double[] ropeInvFreq;
    // RunState
    final float[] x, xb, xb2, hb, hb2, q, k, v, att, logits;
    final float[] keyCache; // (layer, seq_len, kv_dim)
    final float[] valueCache; // (layer, seq_len, kv_dim)

    ReferenceLlama(Path checkpoint) throws IOException {
        this(checkpoint, null);
    }

    /** With RoPE's inverse frequencies given (headSize / 2 of them), as a scaled RoPE needs; null for run.c's. */
    ReferenceLlama(Path checkpoint, double[] ropeInvFreq) throws IOException {
        this.ropeInvFreq = ropeInvFreq == null ? null : ropeInvFreq.clone();
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(checkpoint)).order(ByteOrder.LITTLE_ENDIAN);
        dim = in.getInt();
        hiddenDim = in.getInt();
        nLayers = in.getInt();
        nHeads = in.getInt();
        nKvHeads = in.getInt();
        int vocab = in.getInt();
        seqLen = in.getInt();
        vocabSize = Math.abs(vocab);
        headSize = dim / nHeads;
        kvDim = dim * nKvHeads / nHeads;
        kvMul = nHeads / nKvHeads;
        if (ropeInvFreq != null && ropeInvFreq.length != headSize / 2) {
            throw new IllegalArgumentException("ropeInvFreq needs headSize / 2 = " + headSize / 2 + " entries");
        }
        FloatBuffer w = in.asFloatBuffer();
        tokenEmbeddingTable = take(w, vocabSize * dim);
        rmsAttWeight = take(w, nLayers * dim);
        wq = take(w, nLayers * dim * nHeads * headSize);
        wk = take(w, nLayers * dim * nKvHeads * headSize);
        wv = take(w, nLayers * dim * nKvHeads * headSize);
        wo = take(w, nLayers * nHeads * headSize * dim);
        rmsFfnWeight = take(w, nLayers * dim);
        w1 = take(w, nLayers * dim * hiddenDim);
        w2 = take(w, nLayers * hiddenDim * dim);
        w3 = take(w, nLayers * dim * hiddenDim);
        rmsFinalWeight = take(w, dim);
        take(w, seqLen * headSize); // freq_cis_real, freq_cis_imag
        wcls = vocab > 0 ? tokenEmbeddingTable : take(w, vocabSize * dim);
        x = new float[dim];
        xb = new float[dim];
        xb2 = new float[dim];
        hb = new float[hiddenDim];
        hb2 = new float[hiddenDim];
        q = new float[dim];
        k = new float[kvDim];
        v = new float[kvDim];
        att = new float[nHeads * seqLen];
        logits = new float[vocabSize];
        keyCache = new float[nLayers * seqLen * kvDim];
        valueCache = new float[nLayers * seqLen * kvDim];
    }

    static void rmsnorm(float[] o, float[] x, float[] weight, int wOff, int size) {
        float ss = 0f;
        for (int j = 0; j < size; j++) {
            ss += x[j] * x[j];
        }
        ss /= size;
        ss += 1e-5f;
        ss = 1f / (float) Math.sqrt(ss);
        for (int j = 0; j < size; j++) {
            o[j] = weight[wOff + j] * (ss * x[j]);
        }
    }

    static void softmax(float[] x, int off, int size) {
        float max = x[off];
        for (int i = 1; i < size; i++) {
            max = Math.max(max, x[off + i]);
        }
        float sum = 0f;
        for (int i = 0; i < size; i++) {
            x[off + i] = (float) Math.exp(x[off + i] - max);
            sum += x[off + i];
        }
        for (int i = 0; i < size; i++) {
            x[off + i] /= sum;
        }
    }

    /** W (d,n) @ x (n,) -> xout (d,) */
    static void matmul(float[] xout, float[] x, float[] w, int wOff, int n, int d) {
        for (int i = 0; i < d; i++) {
            float val = 0f;
            for (int j = 0; j < n; j++) {
                val += w[wOff + i * n + j] * x[j];
            }
            xout[i] = val;
        }
    }

    /** The logits (vocab) after feeding token at pos; the cache must hold positions 0..pos-1. */
    float[] forward(int token, int pos) {
        System.arraycopy(tokenEmbeddingTable, token * dim, x, 0, dim);
        for (int l = 0; l < nLayers; l++) {
            // attention rmsnorm
            rmsnorm(xb, x, rmsAttWeight, l * dim, dim);
            // qkv matmuls for this position
            matmul(q, xb, wq, l * dim * dim, dim, dim);
            matmul(k, xb, wk, l * dim * kvDim, dim, kvDim);
            matmul(v, xb, wv, l * dim * kvDim, dim, kvDim);
            // RoPE relative positional encoding: complex-valued rotate q and k in each head
            for (int i = 0; i < dim; i += 2) {
                int headDim = i % headSize;
                float freq = ropeInvFreq == null ? 1.0f / (float) Math.pow(10000.0f, headDim / (float) headSize)
                        : (float) ropeInvFreq[headDim / 2];
                float val = pos * freq;
                float fcr = (float) Math.cos(val);
                float fci = (float) Math.sin(val);
                int rotn = i < kvDim ? 2 : 1; // how many vectors? 2 = q & k, 1 = q only
                for (int vi = 0; vi < rotn; vi++) {
                    float[] vec = vi == 0 ? q : k;
                    float v0 = vec[i];
                    float v1 = vec[i + 1];
                    vec[i] = v0 * fcr - v1 * fci;
                    vec[i + 1] = v0 * fci + v1 * fcr;
                }
            }
            // save key and value at this time step (pos) to our kv cache
            int loff = l * seqLen * kvDim;
            System.arraycopy(k, 0, keyCache, loff + pos * kvDim, kvDim);
            System.arraycopy(v, 0, valueCache, loff + pos * kvDim, kvDim);
            // multihead attention: iterate over all heads
            for (int h = 0; h < nHeads; h++) {
                int qOff = h * headSize;
                int attOff = h * seqLen;
                for (int t = 0; t <= pos; t++) {
                    int kOff = loff + t * kvDim + (h / kvMul) * headSize;
                    float score = 0f;
                    for (int i = 0; i < headSize; i++) {
                        score += q[qOff + i] * keyCache[kOff + i];
                    }
                    att[attOff + t] = score / (float) Math.sqrt(headSize);
                }
                softmax(att, attOff, pos + 1);
                // weighted sum of the values, store back into xb
                java.util.Arrays.fill(xb, qOff, qOff + headSize, 0f);
                for (int t = 0; t <= pos; t++) {
                    int vOff = loff + t * kvDim + (h / kvMul) * headSize;
                    float a = att[attOff + t];
                    for (int i = 0; i < headSize; i++) {
                        xb[qOff + i] += a * valueCache[vOff + i];
                    }
                }
            }
            // final matmul to get the output of the attention, then residual connection back into x
            matmul(xb2, xb, wo, l * dim * dim, dim, dim);
            for (int i = 0; i < dim; i++) {
                x[i] += xb2[i];
            }
            // ffn rmsnorm
            rmsnorm(xb, x, rmsFfnWeight, l * dim, dim);
            // self.w2(F.silu(self.w1(x)) * self.w3(x))
            matmul(hb, xb, w1, l * dim * hiddenDim, dim, hiddenDim);
            matmul(hb2, xb, w3, l * dim * hiddenDim, dim, hiddenDim);
            for (int i = 0; i < hiddenDim; i++) {
                float val = hb[i];
                val *= (1.0f / (1.0f + (float) Math.exp(-val))); // silu(x) = x * σ(x)
                hb[i] = val * hb2[i];
            }
            matmul(xb, hb, w2, l * dim * hiddenDim, hiddenDim, dim);
            for (int i = 0; i < dim; i++) {
                x[i] += xb[i];
            }
        }
        rmsnorm(x, x, rmsFinalWeight, 0, dim);
        matmul(logits, x, wcls, 0, dim, vocabSize);
        return logits.clone();
    }

    /** run.c's greedy generate: feeds the prompt, then argmax tokens until BOS/EOS or steps new tokens. */
    int[] greedy(int[] prompt, int steps) {
        int[] out = new int[steps];
        int n = 0;
        int token = prompt[0];
        for (int pos = 0; pos < prompt.length - 1 + steps && pos < seqLen; pos++) {
            float[] l = forward(token, pos);
            if (pos < prompt.length - 1) {
                token = prompt[pos + 1];
                continue;
            }
            int next = Sampler.argmax(l);
            if (next == 1 || next == 2) {
                break;
            }
            out[n++] = next;
            token = next;
        }
        return java.util.Arrays.copyOf(out, n);
    }

    private static float[] take(FloatBuffer w, int n) {
        float[] out = new float[n];
        w.get(out);
        return out;
    }
}
