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
 *     before {@code ropeScaling} rescales that frequency
 * @param ropeScaling how the RoPE frequencies are rescaled (HF {@code rope_scaling}); {@link RopeScaling#NONE} in
 *     llama2.c
 */
public record LlamaConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, int seqLen,
        boolean sharedClassifier, float normEps, float ropeTheta, RopeScaling ropeScaling) {

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
        require(ropeScaling != null, "ropeScaling must be given (RopeScaling.NONE for none)");
    }

    /** A config without RoPE scaling. */
    public LlamaConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, int seqLen,
            boolean sharedClassifier, float normEps, float ropeTheta) {
        this(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier, normEps, ropeTheta,
                RopeScaling.NONE);
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

    /**
     * RoPE's inverse frequency of each pair j of a head, headSize / 2 of them: {@code 1 / ropeTheta^(2j/headSize)},
     * rescaled by {@link #ropeScaling}. Computed in double; without scaling, cast to float, it is run.c's value.
     */
    public double[] ropeInverseFrequencies() {
        int hs = headSize();
        double[] invFreq = new double[hs / 2];
        for (int j = 0; j < invFreq.length; j++) {
            invFreq[j] = ropeScaling.apply(1.0 / Math.pow(ropeTheta, 2 * j / (double) hs));
        }
        return invFreq;
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
