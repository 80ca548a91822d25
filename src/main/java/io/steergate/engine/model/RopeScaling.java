package io.steergate.engine.model;

/**
 * How a model rescales RoPE's inverse frequencies to reach a longer context than it was pretrained on (Hugging Face
 * {@code rope_scaling}). Each rule maps the unscaled inverse frequency {@code 1 / theta^(2j/headSize)} of pair j to
 * the one the model was tuned with, as transformers' {@code modeling_rope_utils} does:
 * <ul>
 *   <li>{@link Kind#NONE}: unchanged;</li>
 *   <li>{@link Kind#LINEAR} (position interpolation): divided by {@code factor};</li>
 *   <li>{@link Kind#LLAMA3} (Llama 3.1's rule): with wavelength {@code 2 pi / invFreq}, a wavelength above
 *       {@code originalMaxPositions / lowFreqFactor} is divided by {@code factor}, one below
 *       {@code originalMaxPositions / highFreqFactor} is unchanged, and one in between is interpolated:
 *       {@code (1 - s) invFreq / factor + s invFreq} with
 *       {@code s = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor)}.</li>
 * </ul>
 * The validation messages use the config.json key names, where every scaling comes from.
 *
 * @param kind the rule
 * @param factor how much longer the context is: frequencies are divided by it (LINEAR, LLAMA3; 1 for NONE)
 * @param lowFreqFactor LLAMA3: wavelengths above originalMaxPositions / lowFreqFactor are fully scaled (0 otherwise)
 * @param highFreqFactor LLAMA3: wavelengths below originalMaxPositions / highFreqFactor are kept (0 otherwise)
 * @param originalMaxPositions LLAMA3: the pretraining context (0 otherwise)
 */
public record RopeScaling(Kind kind, double factor, double lowFreqFactor, double highFreqFactor,
        int originalMaxPositions) {

    /** The scaling rules the forward implements; the names are Hugging Face's {@code rope_type} values. */
    public enum Kind {
        NONE("default"), LINEAR("linear"), LLAMA3("llama3");

        private final String ropeType;

        Kind(String ropeType) {
            this.ropeType = ropeType;
        }

        /** Hugging Face's {@code rope_type} for this rule. */
        public String ropeType() {
            return ropeType;
        }
    }

    /** No scaling: run.c's and Llama 2's RoPE. */
    public static final RopeScaling NONE = new RopeScaling(Kind.NONE, 1, 0, 0, 0);

    public RopeScaling {
        if (kind == null) {
            throw new IllegalArgumentException("rope_type must be given");
        }
        if (kind == Kind.NONE) {
            require(factor == 1 && lowFreqFactor == 0 && highFreqFactor == 0 && originalMaxPositions == 0,
                    "rope_type 'default' takes no scaling parameters");
        } else {
            require(Double.isFinite(factor) && factor >= 1, "factor must be a number of at least 1, got " + factor);
        }
        if (kind == Kind.LINEAR) {
            require(lowFreqFactor == 0 && highFreqFactor == 0 && originalMaxPositions == 0,
                    "rope_type 'linear' takes only factor");
        }
        if (kind == Kind.LLAMA3) {
            require(Double.isFinite(lowFreqFactor) && lowFreqFactor > 0,
                    "low_freq_factor must be positive, got " + lowFreqFactor);
            require(Double.isFinite(highFreqFactor) && highFreqFactor > lowFreqFactor,
                    "high_freq_factor must be greater than low_freq_factor " + lowFreqFactor + ", got "
                            + highFreqFactor);
            require(originalMaxPositions > 0,
                    "original_max_position_embeddings must be positive, got " + originalMaxPositions);
        }
    }

    /** Position interpolation: every inverse frequency divided by {@code factor}. */
    public static RopeScaling linear(double factor) {
        return new RopeScaling(Kind.LINEAR, factor, 0, 0, 0);
    }

    /** Llama 3.1's rule (see the class comment). */
    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor,
            int originalMaxPositions) {
        return new RopeScaling(Kind.LLAMA3, factor, lowFreqFactor, highFreqFactor, originalMaxPositions);
    }

    /** The inverse frequency that the model uses in place of the unscaled {@code invFreq}. */
    public double apply(double invFreq) {
        return switch (kind) {
            case NONE -> invFreq;
            case LINEAR -> invFreq / factor;
            case LLAMA3 -> llama3(invFreq);
        };
    }

    private double llama3(double invFreq) {
        double wavelength = 2 * Math.PI / invFreq;
        if (wavelength < originalMaxPositions / highFreqFactor) {
            return invFreq; // high frequencies resolve local order: kept
        }
        if (wavelength > originalMaxPositions / lowFreqFactor) {
            return invFreq / factor; // wavelengths beyond the pretraining context: interpolated as LINEAR
        }
        double smooth = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - smooth) * invFreq / factor + smooth * invFreq;
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }
}
