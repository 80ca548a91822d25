package io.steergate.engine.model;

/**
 * One row of a generation.
 *
 * @param prompt the text to continue (may be empty: the model then starts from BOS)
 * @param maxTokens the most tokens to generate, at least 1
 * @param temperature 0 for greedy argmax, else the softmax temperature (finite, not negative)
 * @param topP nucleus sampling mass in (0, 1]; 1 samples from the whole distribution
 * @param seed seed of this row's random stream, so a row samples the same text whatever shares its batch
 * @param steering this row's steering, folded once per request; null (or one touching no site) = unsteered
 */
public record GenerationInput(String prompt, int maxTokens, float temperature, float topP, long seed,
        RowSteering steering) {

    public GenerationInput {
        if (prompt == null) {
            throw new IllegalArgumentException("prompt must not be null");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be at least 1, got " + maxTokens);
        }
        if (!Float.isFinite(temperature) || temperature < 0f) {
            throw new IllegalArgumentException("temperature must be finite and >= 0, got " + temperature);
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
    }

    /** An unsteered row. */
    public GenerationInput(String prompt, int maxTokens, float temperature, float topP, long seed) {
        this(prompt, maxTokens, temperature, topP, seed, null);
    }

    /** This row with {@code steering} (null = unsteered). */
    public GenerationInput withSteering(RowSteering steering) {
        return new GenerationInput(prompt, maxTokens, temperature, topP, seed, steering);
    }

    /** A greedy (temperature 0) row. */
    public static GenerationInput greedy(String prompt, int maxTokens) {
        return new GenerationInput(prompt, maxTokens, 0f, 1f, 0L);
    }
}
