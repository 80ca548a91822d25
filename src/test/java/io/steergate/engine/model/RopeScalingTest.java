package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * RoPE scaling's inverse frequencies against an independent transcription of transformers'
 * {@code _compute_default_rope_parameters} and {@code _compute_llama3_parameters} (the masked, vectorised form),
 * and against entries worked out by hand.
 */
class RopeScalingTest {

    /** Llama 3.1 8B: hidden 4096, 32 heads (head size 128), rope_theta 500000, rope_scaling llama3 8 / 1 / 4 / 8192. */
    private static final LlamaConfig LLAMA_31_8B = new LlamaConfig(4096, 14336, 32, 32, 8, 128256, 131072, false,
            1e-5f, 500000f, RopeScaling.llama3(8, 1, 4, 8192));
    /** Llama 3.2 1B: hidden 2048, 32 heads (head size 64), rope_theta 500000, rope_scaling llama3 32 / 1 / 4 / 8192. */
    private static final LlamaConfig LLAMA_32_1B = new LlamaConfig(2048, 8192, 16, 32, 8, 128256, 131072, true,
            1e-5f, 500000f, RopeScaling.llama3(32, 1, 4, 8192));

    /**
     * transformers' computation, transcribed: inv_freq = 1 / base^(arange(0, dim, 2) / dim); wavelen = 2 pi / inv_freq;
     * inv_freq_llama = where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq); smooth_factor =
     * (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor); smoothed =
     * (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama; is_medium_freq =
     * ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen); where(is_medium_freq, smoothed, inv_freq_llama).
     * Powers through exp and log, so that it shares no arithmetic with the engine's Math.pow.
     */
    static double[] transformersLlama3(double base, int headSize, double factor, double lowFreqFactor,
            double highFreqFactor, double oldContextLen) {
        double lowFreqWavelen = oldContextLen / lowFreqFactor;
        double highFreqWavelen = oldContextLen / highFreqFactor;
        double[] out = new double[headSize / 2];
        for (int j = 0; j < out.length; j++) {
            double invFreq = Math.exp(-Math.log(base) * (2 * j) / headSize);
            double wavelen = 2 * Math.PI / invFreq;
            double invFreqLlama = wavelen > lowFreqWavelen ? invFreq / factor : invFreq;
            double smoothFactor = (oldContextLen / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            double smoothed = (1 - smoothFactor) * invFreqLlama / factor + smoothFactor * invFreqLlama;
            boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            out[j] = medium ? smoothed : invFreqLlama;
        }
        return out;
    }

    @Test
    void llama3FrequenciesMatchTransformersFormulaForLlama31And32() {
        assertRelativelyClose(transformersLlama3(500000, 128, 8, 1, 4, 8192), LLAMA_31_8B.ropeInverseFrequencies());
        assertRelativelyClose(transformersLlama3(500000, 64, 32, 1, 4, 8192), LLAMA_32_1B.ropeInverseFrequencies());
    }

    @Test
    void llama3FrequenciesWorkedOutByHand() {
        double[] f = LLAMA_31_8B.ropeInverseFrequencies();
        assertEquals(64, f.length);
        // j = 0: 500000^0 = 1, wavelength 2 pi < 8192 / 4 = 2048: kept
        assertEquals(1.0, f[0], 0);
        // j = 28: 500000^(-56/128) = 0.0032114460, wavelength 1956.50 < 2048: kept
        assertEquals(0.0032114460, f[28], 1e-10);
        // j = 32: 500000^(-1/2) = 0.0014142136, wavelength 4442.883 in [2048, 8192]: smooth = (8192 / 4442.883 - 1)
        // / (4 - 1) = 0.2812822; (1 - 0.2812822) * 0.0014142136 / 8 + 0.2812822 * 0.0014142136 = 0.00052484616
        assertEquals(0.00052484616, f[32], 1e-11);
        // j = 35: 500000^(-70/128) = 0.00076449699, wavelength 8218.72 > 8192 / 1: divided by 8 = 0.000095562124
        assertEquals(0.000095562124, f[35], 1e-12);
        // j = 63: 500000^(-126/128) = 2.4551408e-6, wavelength 2.56e6: divided by 8 = 3.0689260e-7
        assertEquals(3.0689260e-7, f[63], 1e-14);
    }

    @Test
    void llama3IsContinuousAtBothWavelengthEdges() {
        RopeScaling s = RopeScaling.llama3(8, 1, 4, 8192);
        double atLow = 2 * Math.PI / 8192; // wavelength exactly 8192 / low_freq_factor: smooth 0, fully divided
        assertEquals(atLow / 8, s.apply(atLow), 1e-18);
        double atHigh = 2 * Math.PI / 2048; // wavelength exactly 8192 / high_freq_factor: smooth 1, kept
        assertEquals(atHigh, s.apply(atHigh), 1e-15);
    }

    @Test
    void linearDividesEveryFrequency() {
        LlamaConfig plain = new LlamaConfig(64, 172, 5, 8, 4, 512, 512, true, 1e-5f, 10000f);
        LlamaConfig linear = new LlamaConfig(64, 172, 5, 8, 4, 512, 512, true, 1e-5f, 10000f, RopeScaling.linear(4));
        double[] expected = plain.ropeInverseFrequencies();
        double[] actual = linear.ropeInverseFrequencies();
        for (int j = 0; j < expected.length; j++) {
            assertEquals(expected[j] / 4, actual[j], 0);
        }
        // run.c's frequencies without scaling: 1, 0.1, 0.01, 0.001 for a head of 8
        assertRelativelyClose(new double[] {1, 0.1, 0.01, 0.001}, expected);
    }

    @Test
    void parametersThatCannotWorkAreRefusedNamingTheKey() {
        assertRefused(() -> RopeScaling.llama3(0.5, 1, 4, 8192), "factor must be a number of at least 1, got 0.5");
        assertRefused(() -> RopeScaling.llama3(8, 4, 4, 8192), "high_freq_factor must be greater than low_freq_factor");
        assertRefused(() -> RopeScaling.llama3(8, 0, 4, 8192), "low_freq_factor must be positive");
        assertRefused(() -> RopeScaling.llama3(8, 1, 4, 0), "original_max_position_embeddings must be positive");
        assertRefused(() -> RopeScaling.linear(Double.NaN), "factor must be a number of at least 1");
    }

    @Test
    void aRotationTableBeyondJavasArrayLimitIsRefusedNamingTheContext() {
        // 131072 positions x 128 x 128 = 2^31 floats: one more than an array holds
        assertRefused(() -> LlamaModel.ropeRotations(LLAMA_31_8B), "the RoPE rotations of 131072 positions with head "
                + "size 128 need 2147483648 floats; at most 2147483647 are supported: lower the context "
                + "(max_position_embeddings)");
    }

    private static void assertRefused(Runnable make, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, make::run);
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    private static void assertRelativelyClose(double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length);
        for (int j = 0; j < expected.length; j++) {
            assertEquals(expected[j], actual[j], 1e-12 * expected[j], "pair " + j);
        }
    }
}
