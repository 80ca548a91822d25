package io.steergate.engine.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A llama2.c-architecture decoder (RMSNorm, interleaved-pair RoPE, grouped-query attention, SwiGLU) whose forward
 * pass is written in DJL NDArray operations, so that every activation site is one visible line. Loaded from a
 * llama2.c checkpoint and its {@code tok*.bin} tokenizer, or from a Hugging Face directory ({@link HfCheckpoint});
 * the weights stay on the chosen device until closed.
 */
public final class LlamaModel implements AutoCloseable {

    /** Added to masked attention scores: finite, so a row with every key masked (padding) stays finite. */
    static final float MASKED = -1e30f;

    private final LlamaConfig config;
    private final String name;
    private final String fingerprint;
    private final Tokenizer tokenizer;
    private final NDManager manager;

    // weights, transposed at load to (in, out) so that every product reads activation-first: x.matMul(w)
    private final NDArray tokenEmbedding; // (vocabSize, dim)
    // the RMSNorm weights are stored times sqrt(dim), see normalized()
    private final NDArray[] rmsAtt; // per layer (dim)
    private final NDArray[] wqkv; // per layer (dim, dim + 2 * kvDim): wq / sqrt(headSize), wk, wv side by side
    private final NDArray[] wo; // per layer (dim, dim)
    private final NDArray[] rmsFfn; // per layer (dim)
    private final NDArray[] w13; // per layer (dim, 2 * hiddenDim): w1 (gate), w3 (up) side by side
    private final NDArray[] w2; // per layer (hiddenDim, dim)
    private final NDArray rmsFinal; // (dim)
    // the two norm weights of each layer as floats too (read, never written): what a steering fold multiplies at every
    // admission, so it is not copied out of native memory there
    private final float[][] rmsAttFloats;
    private final float[][] rmsFfnFloats;
    private final NDArray wcls; // (dim, vocabSize)
    private final NDArray rope; // (seqLen, headSize, headSize): the RoPE rotation of each position, x (1, hs) @ R
    private final NDList longLived;
    private final LoopDecoder loops; // the weights once more as floats, for generation on the CPU; null on a GPU

    private LlamaModel(LlamaConfig config, String name, String fingerprint, Tokenizer tokenizer, NDManager manager,
            FloatBuffer w) {
        this.config = config;
        this.name = name;
        this.fingerprint = fingerprint;
        this.tokenizer = tokenizer;
        this.manager = manager;
        int dim = config.dim();
        int hidden = config.hiddenDim();
        int layers = config.nLayers();
        int kvDim = config.kvDim();
        int vocab = config.vocabSize();
        // the checkpoint order of run.c's memory_map_weights; each W is stored (layer, out, in)
        float[] embedding = take(w, vocab * dim);
        float[] rmsAttAll = take(w, layers * dim);
        float[] wqAll = take(w, layers * dim * dim);
        float[] wkAll = take(w, layers * kvDim * dim);
        float[] wvAll = take(w, layers * kvDim * dim);
        float[] woAll = take(w, layers * dim * dim);
        float[] rmsFfnAll = take(w, layers * dim);
        float[] w1All = take(w, layers * hidden * dim);
        float[] w2All = take(w, layers * dim * hidden);
        float[] w3All = take(w, layers * hidden * dim);
        float[] rmsFinalW = take(w, dim);
        take(w, config.seqLen() * config.headSize()); // freq_cis_real and freq_cis_imag: unused, RoPE is computed
        float[] classifier = config.sharedClassifier() ? embedding : take(w, vocab * dim);

        List<NDArray> all = new ArrayList<>();
        this.tokenEmbedding = keep(all, manager.create(embedding, new Shape(vocab, dim)));
        this.rmsAtt = new NDArray[layers];
        this.wqkv = new NDArray[layers];
        this.wo = new NDArray[layers];
        this.rmsFfn = new NDArray[layers];
        this.rmsAttFloats = new float[layers][];
        this.rmsFfnFloats = new float[layers][];
        this.w13 = new NDArray[layers];
        this.w2 = new NDArray[layers];
        float[][] qkvFloats = new float[layers][];
        float[][] woFloats = new float[layers][];
        float[][] w13Floats = new float[layers][];
        float[][] w2Floats = new float[layers][];
        // the 1/sqrt(headSize) attention scale is folded into wq (RoPE is linear, so it commutes)
        float qScale = (float) (1.0 / Math.sqrt(config.headSize()));
        for (int l = 0; l < layers; l++) {
            rmsAttFloats[l] = scaledNormWeight(slice(rmsAttAll, l, dim));
            rmsAtt[l] = keep(all, manager.create(rmsAttFloats[l], new Shape(dim)));
            float[] qkv = new float[dim * (dim + 2 * kvDim)];
            transposeInto(slice(wqAll, l, dim * dim), dim, dim, qkv, dim + 2 * kvDim, 0, qScale);
            transposeInto(slice(wkAll, l, kvDim * dim), kvDim, dim, qkv, dim + 2 * kvDim, dim, 1f);
            transposeInto(slice(wvAll, l, kvDim * dim), kvDim, dim, qkv, dim + 2 * kvDim, dim + kvDim, 1f);
            wqkv[l] = keep(all, manager.create(qkv, new Shape(dim, dim + 2 * kvDim)));
            qkvFloats[l] = qkv;
            float[] o = new float[dim * dim];
            transposeInto(slice(woAll, l, dim * dim), dim, dim, o, dim, 0, 1f);
            wo[l] = keep(all, manager.create(o, new Shape(dim, dim)));
            woFloats[l] = o;
            rmsFfnFloats[l] = scaledNormWeight(slice(rmsFfnAll, l, dim));
            rmsFfn[l] = keep(all, manager.create(rmsFfnFloats[l], new Shape(dim)));
            float[] gateUp = new float[dim * 2 * hidden];
            transposeInto(slice(w1All, l, hidden * dim), hidden, dim, gateUp, 2 * hidden, 0, 1f);
            transposeInto(slice(w3All, l, hidden * dim), hidden, dim, gateUp, 2 * hidden, hidden, 1f);
            w13[l] = keep(all, manager.create(gateUp, new Shape(dim, 2 * hidden)));
            w13Floats[l] = gateUp;
            float[] down = new float[hidden * dim];
            transposeInto(slice(w2All, l, dim * hidden), dim, hidden, down, dim, 0, 1f);
            w2[l] = keep(all, manager.create(down, new Shape(hidden, dim)));
            w2Floats[l] = down;
        }
        float[] rmsFinalFloats = scaledNormWeight(rmsFinalW);
        this.rmsFinal = keep(all, manager.create(rmsFinalFloats, new Shape(dim)));
        float[] cls = new float[dim * vocab];
        transposeInto(classifier, vocab, dim, cls, vocab, 0, 1f);
        this.wcls = keep(all, manager.create(cls, new Shape(dim, vocab)));
        this.rope = keep(all, manager.create(ropeRotations(config), new Shape(config.seqLen(), config.headSize(),
                config.headSize())));
        this.longLived = new NDList(all);
        this.loops = manager.getDevice().isGpu() ? null : new LoopDecoder(config, embedding, rmsAttFloats, qkvFloats,
                woFloats, rmsFfnFloats, w13Floats, w2Floats, rmsFinalFloats, cls);
    }

    /**
     * Loads the model in {@code dir}: a Hugging Face Llama directory when it holds {@code config.json} (see
     * {@link HfCheckpoint#load}), otherwise the llama2.c checkpoint (the one {@code *.bin} whose name does not
     * start with {@code tok}) with its tokenizer ({@code tok*.bin}).
     *
     * @param dir the model directory
     * @param choice where to run: AUTO takes a GPU when DJL finds one, GPU fails when there is none
     * @return the loaded model; close it to free the weights
     * @throws IOException when a file cannot be read
     * @throws IllegalArgumentException when the directory does not hold exactly one checkpoint and one tokenizer,
     *     or a Hugging Face directory is refused (the message names the key, tensor or dtype)
     * @throws IllegalStateException when GPU is asked for and DJL finds none
     */
    public static LlamaModel load(Path dir, DeviceChoice choice) throws IOException {
        if (Files.isRegularFile(dir.resolve(HfCheckpoint.CONFIG))) {
            return HfCheckpoint.load(dir, choice);
        }
        Path checkpoint = single(dir, false);
        Path tokenizerFile = single(dir, true);
        Device device = device(choice);
        byte[] bytes = Files.readAllBytes(checkpoint);
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 7 * Integer.BYTES) {
            throw new IllegalArgumentException(checkpoint + " is too short for a llama2.c checkpoint header");
        }
        int dim = in.getInt();
        int hiddenDim = in.getInt();
        int nLayers = in.getInt();
        int nHeads = in.getInt();
        int nKvHeads = in.getInt();
        int vocabSize = in.getInt(); // a hack of llama2.c: negative means the classifier is stored separately
        int seqLen = in.getInt();
        LlamaConfig config = new LlamaConfig(dim, hiddenDim, nLayers, nHeads, nKvHeads, Math.abs(vocabSize), seqLen,
                vocabSize > 0);
        long expected = expectedFloats(config);
        if (in.remaining() != expected * Float.BYTES) {
            throw new IllegalArgumentException(checkpoint + " holds " + in.remaining() / Float.BYTES
                    + " floats after the header; the config " + config + " needs " + expected);
        }
        Tokenizer tokenizer = LlamaTokenizer.read(tokenizerFile, config.vocabSize());
        String name = checkpoint.getFileName().toString().replaceFirst("\\.bin$", "");
        String fingerprint = "sha256:" + ModelFiles.sha256(bytes);
        return fromWeights(config, name, fingerprint, tokenizer, device, in.asFloatBuffer());
    }

    /**
     * A model from weights in the llama2.c checkpoint layout (after the header: run.c's memory_map_weights order,
     * each W (layer, out, in), freq_cis included, then the classifier when it is not shared), read from {@code w}'s
     * position on. Other loaders ({@link HfCheckpoint}) convert to this layout and come through here.
     */
    static LlamaModel fromWeights(LlamaConfig config, String name, String fingerprint, Tokenizer tokenizer,
            Device device, FloatBuffer w) {
        long expected = expectedFloats(config);
        if (w.remaining() != expected) {
            throw new IllegalArgumentException("the weights of " + name + " hold " + w.remaining()
                    + " floats; the config " + config + " needs " + expected);
        }
        NDManager manager = NDManager.newBaseManager(device);
        try {
            return new LlamaModel(config, name, fingerprint, tokenizer, manager, w);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * The forward pass: tokens (B, T) at positions (B, T) through all blocks, writing their keys and values into
     * cache columns [start, start + T) and attending over columns [0, start + T) with the additive mask
     * (broadcastable to (B, 1, 1, T, S); null when it would be all zeros); returns the logits (B, vocabSize) of the
     * last column. Call it with the long-lived arrays temporarily attached to the caller's NDManager, so that every
     * result belongs to it.
     */
    NDArray forward(NDArray tokens, NDArray positions, NDArray mask, KvCache cache, int start) {
        return forward(tokens, positions, mask, cache, start, null, config.nLayers());
    }

    /**
     * Forward of whole left-padded prompts without a KV cache, with hooks: activation collection and training.
     * Runs the first {@code layers} blocks; returns the logits (B, vocabSize) of the last column when all blocks
     * ran, else null (the hooks have seen what they needed). Call {@link #lendWeights} on the manager that owns
     * {@code batch} first, so that every result (and every gradient) belongs to it.
     *
     * @param batch the prompts, see {@link PromptBatch#of}
     * @param hooks indexed by {@link SiteHook#index(int, HookPoint)}, null entries (or null) for none
     * @param layers how many blocks to run, 1 to nLayers
     */
    public NDArray forwardPrompts(PromptBatch batch, SiteHook[] hooks, int layers) {
        if (layers < 1 || layers > config.nLayers()) {
            throw new IllegalArgumentException("layers must be in [1, " + config.nLayers() + "], got " + layers);
        }
        if (hooks != null && hooks.length != config.nLayers() * SiteHook.POINTS) {
            throw new IllegalArgumentException("hooks must have nLayers * POINTS = "
                    + config.nLayers() * SiteHook.POINTS + " slots, got " + hooks.length);
        }
        return forward(batch.tokens(), batch.positions(), batch.mask(), null, 0, hooks, layers);
    }

    /**
     * Like {@link #forwardPrompts} over all blocks, but returns the logits of every column, (B, T, vocabSize):
     * perplexity. Padding columns hold logits too; mask them with {@link PromptBatch#valid()}.
     */
    public NDArray forwardPromptsAllPositions(PromptBatch batch, SiteHook[] hooks) {
        if (hooks != null && hooks.length != config.nLayers() * SiteHook.POINTS) {
            throw new IllegalArgumentException("hooks must have nLayers * POINTS = "
                    + config.nLayers() * SiteHook.POINTS + " slots, got " + hooks.length);
        }
        return forward(batch.tokens(), batch.positions(), batch.mask(), null, 0, hooks, config.nLayers(), true);
    }

    /**
     * Attaches the weights to {@code step} until it closes, so that results of the forward belong to it (docs/architecture.md 5, DJL
     * pitfall 1). Once per manager: a second attach to the same manager would lose the weights' owner.
     */
    public void lendWeights(NDManager step) {
        step.tempAttachAll(longLived.toArray(new NDArray[0]));
    }

    /**
     * The forward pass with hooks (null for none) over the first {@code layers} blocks; without a cache
     * ({@code cache} null) the keys and values of this chunk are attended directly. Returns null when not all blocks
     * ran.
     */
    NDArray forward(NDArray tokens, NDArray positions, NDArray mask, KvCache cache, int start, SiteHook[] hooks,
            int layers) {
        return forward(tokens, positions, mask, cache, start, hooks, layers, false);
    }

    private NDArray forward(NDArray tokens, NDArray positions, NDArray mask, KvCache cache, int start,
            SiteHook[] hooks, int layers, boolean allColumns) {
        long b = tokens.getShape().get(0);
        long t = tokens.getShape().get(1);
        int end = start + (int) t;
        NDArray x = tokenEmbedding.get(tokens); // (B, T, dim)
        NDArray rotation = rope.get(positions); // (B, T, hs, hs)
        // the leading axes as an ellipsis: libtorch then slices only the column axis (each ':' is a dispatch)
        Chunk chunk = new Chunk(b, t, mask, rotation, cache, hooks, new NDIndex("..., {}:{}", start, end),
                new NDIndex("..., {}:{}, 0:{}", start, end, config.headSize()), new NDIndex("..., :{}", end),
                new NDIndex("..., :{}, 0:{}", end, config.headSize()));
        // With a cache the forward is generation's (prefill and decode): nothing reads a layer's intermediates once
        // it is done, so each layer runs in its own manager, closed with them; prefill's attention scores, (B, heads,
        // T, T) per layer, would otherwise all live until the step ends. Without a cache (training, activation
        // collection) autograd and the hooks keep intermediates, so they stay with the caller's manager.
        boolean release = cache != null;
        NDManager owner = x.getManager();
        for (int l = 0; l < layers; l++) {
            if (!release) {
                x = block(l, x, chunk);
                continue;
            }
            try (NDManager layer = owner.newSubManager()) {
                x.attach(layer); // the previous hidden state dies with this layer's intermediates
                x = block(l, x, chunk);
                x.attach(owner);
            }
        }
        if (layers < config.nLayers()) {
            return null;
        }
        if (!release) {
            return head(x, allColumns);
        }
        try (NDManager last = owner.newSubManager()) {
            x.attach(last); // only the logits outlive the head
            NDArray logits = head(x, allColumns);
            logits.attach(owner);
            return logits;
        }
    }

    /**
     * What every layer of one forward shares: the chunk's shape, its mask and RoPE rotations, where it writes and
     * reads the cache (null without one; the NDIndex parsed once for all layers), and the hooks.
     */
    private record Chunk(long b, long t, NDArray mask, NDArray rotation, KvCache cache, SiteHook[] hooks,
            NDIndex keysWritten, NDIndex valuesWritten, NDIndex keysRead, NDIndex valuesRead) {}

    /** Block {@code l} on the hidden state x (B, T, dim); every new array belongs to x's manager. */
    private NDArray block(int l, NDArray x, Chunk chunk) {
        long b = chunk.b();
        long t = chunk.t();
        int dim = config.dim();
        int hs = config.headSize();
        int nHeads = config.nHeads();
        int nKvHeads = config.nKvHeads();
        int hidden = config.hiddenDim();
        SiteHook[] hooks = chunk.hooks();
        KvCache cache = chunk.cache();
        // attention rmsnorm
        NDArray xb = rmsnorm(x, rmsAtt[l], hooks, l, HookPoint.ATTN_NORM); // (B, T, dim), attn_norm
        // qkv matmuls, then RoPE: one product rotates each interleaved pair of every q and k head by its position
        NDList qkv = xb.matMul(wqkv[l]).split(new long[] {dim + config.kvDim()}, 2); // q and k; v
        NDList qk = qkv.get(0).reshape(b, t, nHeads + nKvHeads, hs).matMul(chunk.rotation())
                .split(new long[] {nHeads}, 2); // (B, T, nHeads, hs), (B, T, nKvHeads, hs)
        // grouped-query attention: query head h reads KV head h / kvMul, so the kvMul query heads of a KV head are one
        // matrix of kvMul * T rows and each product is a plain batched one over (B, nKvHeads): a broadcast would copy
        // the keys. The keys are stored transposed, ready for q @ k^T.
        int kvMul = config.kvMul();
        NDArray q = regroup(qk.get(0), t, new Shape(b, t, nKvHeads, kvMul, hs), new int[] {0, 2, 3, 1, 4},
                new Shape(b, nKvHeads, kvMul * t, hs));
        NDArray k = regroup(qk.get(1), t, new Shape(b, t, nKvHeads, hs), new int[] {0, 2, 3, 1},
                new Shape(b, nKvHeads, hs, t));
        NDArray v = regroup(qkv.get(1), t, new Shape(b, t, nKvHeads, hs), new int[] {0, 2, 1, 3},
                new Shape(b, nKvHeads, t, hs));
        NDArray keys = k; // (B, nKvHeads, hs, S)
        NDArray values = v; // (B, nKvHeads, S, hs)
        if (cache != null) {
            // kv cache: write this chunk at columns [start, end), read [0, end)
            cache.keys(l).set(chunk.keysWritten(), k);
            cache.values(l).set(chunk.valuesWritten(), v);
            keys = cache.keys(l).get(x.getManager(), chunk.keysRead());
            values = cache.values(l).get(x.getManager(), chunk.valuesRead());
        } // else no cache: this chunk is the whole sequence (S = T)
        NDArray scores = q.matMul(keys); // (B, nKvHeads, kvMul * T, S)
        if (chunk.mask() != null) {
            scores = scores.reshape(b, nKvHeads, kvMul, t, -1).add(chunk.mask()); // (B, nKvHeads, kvMul, T, S)
        }
        NDArray att = scores.softmax(-1);
        if (chunk.mask() != null) {
            att = att.reshape(b, nKvHeads, kvMul * t, -1);
        }
        NDArray heads = att.matMul(values); // (B, nKvHeads, kvMul * T, hs)
        heads = t == 1 ? heads.reshape(b, 1, dim)
                : heads.reshape(b, nKvHeads, kvMul, t, hs).transpose(0, 3, 1, 2, 4).reshape(b, t, dim); // (B, T, dim)
        NDArray attnOut = heads.matMul(wo[l]); // (B, T, dim)
        attnOut = hook(hooks, l, HookPoint.ATTN_OUT, attnOut); // attn_out
        x = x.add(attnOut); // residual
        // ffn rmsnorm
        NDArray hb = rmsnorm(x, rmsFfn[l], hooks, l, HookPoint.MLP_NORM); // (B, T, dim), mlp_norm
        // SwiGLU: self.w2(F.silu(self.w1(x)) * self.w3(x))
        NDList gateUp = hb.matMul(w13[l]).split(new long[] {hidden}, 2); // 2 x (B, T, hidden)
        NDArray gate = gateUp.get(0);
        NDArray h = gate.mul(Activation.sigmoid(gate)).mul(gateUp.get(1)); // (B, T, hidden)
        NDArray mlpOut = h.matMul(w2[l]); // (B, T, dim)
        mlpOut = hook(hooks, l, HookPoint.MLP_OUT, mlpOut); // mlp_out
        x = x.add(mlpOut); // (B, T, dim)
        return hook(hooks, l, HookPoint.RESID, x); // resid
    }

    /**
     * {@code a} reshaped to {@code split} (B, T, ...), transposed to {@code axes}, reshaped to {@code target}. With one
     * column (decode) moving the T axis leaves the memory order as it is, so one reshape does it all.
     */
    private static NDArray regroup(NDArray a, long t, Shape split, int[] axes, Shape target) {
        if (t == 1) {
            return a.reshape(target);
        }
        NDArray moved = a.reshape(split).transpose(axes);
        return moved.getShape().equals(target) ? moved : moved.reshape(target);
    }

    /** The final norm and classifier: logits (B, vocabSize) of the last column, or (B, T, vocabSize) of all. */
    private NDArray head(NDArray x, boolean allColumns) {
        Shape shape = x.getShape();
        NDArray last = allColumns ? x // (B, T, dim)
                : shape.get(1) == 1 ? x.reshape(shape.get(0), -1) : x.get(":, -1, :"); // (B, dim)
        return rmsnorm(last, rmsFinal).matMul(wcls); // (B, T, vocabSize) or (B, vocabSize)
    }

    /** The hook at (layer, point) applied to x, or x itself when there is none. */
    private static NDArray hook(SiteHook[] hooks, int layer, HookPoint point, NDArray x) {
        if (hooks == null) {
            return x;
        }
        SiteHook h = hooks[SiteHook.index(layer, point)];
        return h == null ? x : h.apply(x);
    }

    /** RMSNorm: w * x / sqrt(mean(x^2) + eps), over the last axis ({@code weight} as stored, times sqrt(dim)). */
    NDArray rmsnorm(NDArray x, NDArray weight) {
        return normalized(x).mul(weight);
    }

    /** RMSNorm then the hook at (layer, point), which may fold into the weight ({@link SiteHook#applyAfterNorm}). */
    private NDArray rmsnorm(NDArray x, NDArray weight, SiteHook[] hooks, int layer, HookPoint point) {
        SiteHook h = hooks == null ? null : hooks[SiteHook.index(layer, point)];
        return h == null ? rmsnorm(x, weight) : h.applyAfterNorm(normalized(x), weight);
    }

    /**
     * x / sqrt(sum(x^2) + dim * eps) over the last axis: sqrt(dim) times smaller than x / sqrt(mean(x^2) + eps), which
     * the weights, stored times sqrt(dim), make up for. A sum is one libtorch kernel, a mean three and a copy. When
     * dim is a power of 4 (64, 256, 1024, 4096, ...) the scalings are exact: the result is bit for bit the mean's.
     */
    private NDArray normalized(NDArray x) {
        int dim = config.dim();
        NDArray rms = x.square().sum(new int[] {-1}, true).add(dim * config.normEps()).sqrt(); // (..., 1)
        return x.div(rms);
    }

    /** An RMSNorm weight as {@link #normalized} needs it: times sqrt(dim). */
    private float[] scaledNormWeight(float[] w) {
        float scale = (float) Math.sqrt(config.dim());
        float[] out = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            out[i] = w[i] * scale;
        }
        return out;
    }

    /**
     * The weight of the RMSNorm whose output is (layer, point) as floats, as the forward uses it (times sqrt(dim)),
     * or null when the point is not a norm's output: what a fold multiplies. The model's own array: read it only.
     */
    float[] normWeight(int layer, HookPoint point) {
        return switch (point) {
            case ATTN_NORM -> rmsAttFloats[layer];
            case MLP_NORM -> rmsFfnFloats[layer];
            default -> null;
        };
    }

    /** Arrays that live as long as the model: attach them temporarily to a step's manager (docs/architecture.md 5, DJL pitfall 1). */
    NDList longLived() {
        return longLived;
    }

    NDManager manager() {
        return manager;
    }

    /** Generation's plain-Java forward on the CPU, or null when the model is on a GPU. */
    LoopDecoder loops() {
        return loops;
    }

    /**
     * What the plain-Java forward's attention and SwiGLU run on, for the start-up log: a JVM started without
     * {@code --add-modules jdk.incubator.vector} decodes 1.3-1.6x slower and would otherwise not say so. Empty on a GPU.
     */
    public String loopKernels() {
        return loops == null ? "" : loops.kernels();
    }

    /** A new manager on the model's device for one forward ({@link #forwardPrompts}); close it when done. */
    public NDManager newSubManager() {
        return manager.newSubManager();
    }

    public LlamaConfig config() {
        return config;
    }

    /** The checkpoint's file name without {@code .bin} (e.g. {@code stories260K}), or the HF directory's name. */
    public String name() {
        return name;
    }

    /** {@code sha256:<hex>} of the weights file (for a Hugging Face directory, see {@link HfCheckpoint#load}). */
    public String fingerprint() {
        return fingerprint;
    }

    public Device device() {
        return manager.getDevice();
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Each text encoded with BOS and cut to the context length: the rows of a whole-prompt forward. */
    public int[][] encodeTruncated(List<String> texts) {
        int seqLen = config.seqLen();
        int[][] out = new int[texts.size()][];
        for (int i = 0; i < out.length; i++) {
            int[] ids = tokenizer().encode(texts.get(i));
            out[i] = ids.length > seqLen ? java.util.Arrays.copyOf(ids, seqLen) : ids;
        }
        return out;
    }

    @Override
    public void close() {
        manager.close();
        if (tokenizer instanceof HfTokenizer hf) {
            hf.close(); // the Rust tokenizer's memory
        }
    }

    /**
     * run.c's RoPE as one rotation matrix per position, for row vectors: for each pair (2j, 2j+1) of a head,
     * x'[2j] = x[2j] cos - x[2j+1] sin and x'[2j+1] = x[2j] sin + x[2j+1] cos, with angle pos * invFreq[j]
     * ({@link LlamaConfig#ropeInverseFrequencies}: 1 / theta^(2j/hs), theta 10000 in run.c, then any RoPE scaling).
     */
    static float[] ropeRotations(LlamaConfig config) {
        int hs = config.headSize();
        long size = (long) config.seqLen() * hs * hs;
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("the RoPE rotations of " + config.seqLen() + " positions with head size "
                    + hs + " need " + size + " floats; at most " + Integer.MAX_VALUE
                    + " are supported: lower the context (max_position_embeddings)");
        }
        double[] invFreq = config.ropeInverseFrequencies();
        float[] r = new float[(int) size]; // (seqLen, hs, hs)
        for (int pos = 0; pos < config.seqLen(); pos++) {
            int base = pos * hs * hs;
            for (int i = 0; i < hs; i += 2) {
                float freq = (float) invFreq[i / 2];
                float val = pos * freq;
                float fcr = (float) Math.cos(val);
                float fci = (float) Math.sin(val);
                r[base + i * hs + i] = fcr;
                r[base + (i + 1) * hs + i] = -fci;
                r[base + i * hs + i + 1] = fci;
                r[base + (i + 1) * hs + i + 1] = fcr;
            }
        }
        return r;
    }

    private static long expectedFloats(LlamaConfig c) {
        long dim = c.dim();
        long layers = c.nLayers();
        long kvDim = c.kvDim();
        long perLayer = 2 * dim + 2 * dim * dim + 2 * kvDim * dim + 3 * dim * c.hiddenDim();
        return c.vocabSize() * dim * (c.sharedClassifier() ? 1 : 2) + layers * perLayer + dim
                + (long) c.seqLen() * c.headSize();
    }

    static Device device(DeviceChoice choice) {
        int gpus = Engine.getInstance().getGpuCount();
        return switch (choice) {
            case CPU -> Device.cpu();
            case AUTO -> gpus > 0 ? Device.gpu() : Device.cpu();
            case GPU -> {
                if (gpus == 0) {
                    throw new IllegalStateException("device GPU was requested but the "
                            + Engine.getInstance().getEngineName() + " engine finds no GPU; use AUTO or CPU");
                }
                yield Device.gpu();
            }
        };
    }

    private static Path single(Path dir, boolean tokenizer) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("model directory " + dir + " does not exist");
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> found = files.filter(p -> {
                String f = p.getFileName().toString();
                return f.endsWith(".bin") && f.startsWith("tok") == tokenizer;
            }).sorted().toList();
            if (found.size() != 1) {
                throw new IllegalArgumentException("model directory " + dir + " must hold exactly one "
                        + (tokenizer ? "tokenizer tok*.bin" : "llama2.c checkpoint *.bin (other than tok*.bin)")
                        + ", found " + found.size() + ": " + found);
            }
            return found.get(0);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static float[] take(FloatBuffer w, int n) {
        float[] out = new float[n];
        w.get(out);
        return out;
    }

    private static float[] slice(float[] all, int layer, int size) {
        float[] out = new float[size];
        System.arraycopy(all, layer * size, out, 0, size);
        return out;
    }

    /** Writes W (rows, cols) transposed, times scale, into dst (cols, dstCols) starting at column dstCol. */
    private static void transposeInto(float[] w, int rows, int cols, float[] dst, int dstCols, int dstCol,
            float scale) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                dst[c * dstCols + dstCol + r] = scale == 1f ? w[r * cols + c] : w[r * cols + c] * scale;
            }
        }
    }

    private static NDArray keep(List<NDArray> all, NDArray array) {
        all.add(array);
        return array;
    }
}
