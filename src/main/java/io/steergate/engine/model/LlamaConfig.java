package io.steergate.engine.model;

/**
 * The hyperparameters of a Llama-family decoder, as in llama2.c's {@code Config} (the checkpoint header).
 *
 * @param dim transformer width
 * @param hiddenDim width of the SwiGLU feed-forward layer
 * @param nLayers number of decoder blocks
 * @param nHeads number of query heads
 * @param nKvHeads number of key/value heads (grouped-query attention when fewer than {@code nHeads})
 * @param vocabSize number of tokens
 * @param seqLen the context: the most positions a sequence may occupy
 * @param sharedClassifier whether the output classifier is the token embedding table
 * @param normEps the epsilon inside RMSNorm (Hugging Face {@code rms_norm_eps})
 * @param ropeTheta the RoPE base: pair j of a head turns by pos / ropeTheta^(2j/headSize) (HF {@code rope_theta})
 */
public record LlamaConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, int seqLen,
        boolean sharedClassifier, float normEps, float ropeTheta) {

    /** The epsilon inside RMSNorm, as in run.c. */
    public static final float NORM_EPS = 1e-5f;
    /** The RoPE base, as in run.c. */
    public static final float ROPE_THETA = 10000f;

    public LlamaConfig {
        require(dim > 0, "dim must be positive, got " + dim);
        require(hiddenDim > 0, "hiddenDim must be positive, got " + hiddenDim);
        require(nLayers > 0, "nLayers must be positive, got " + nLayers);
        require(nHeads > 0 && dim % nHeads == 0, "nHeads must divide dim " + dim + ", got " + nHeads);
        require(nKvHeads > 0 && nHeads % nKvHeads == 0,
                "nKvHeads must divide nHeads " + nHeads + ", got " + nKvHeads);
        require((dim / nHeads) % 2 == 0, "head size must be even for RoPE, got " + dim / nHeads);
        require(vocabSize > 0, "vocabSize must be positive, got " + vocabSize);
        require(seqLen > 0, "seqLen must be positive, got " + seqLen);
        require(normEps > 0, "normEps must be positive, got " + normEps);
        require(ropeTheta > 0, "ropeTheta must be positive, got " + ropeTheta);
    }

    /** A llama2.c config: run.c's RMSNorm epsilon and RoPE base, which its checkpoint header does not carry. */
    public LlamaConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, int seqLen,
            boolean sharedClassifier) {
        this(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier, NORM_EPS, ROPE_THETA);
    }

    /** Width of one attention head. */
    public int headSize() {
        return dim / nHeads;
    }

    /** Width of the keys (and values) of all KV heads together. */
    public int kvDim() {
        return nKvHeads * headSize();
    }

    /** How many query heads share one KV head. */
    public int kvMul() {
        return nHeads / nKvHeads;
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }
}
