package io.steergate.engine.eval;

/**
 * Scores one text for a concept: a number in [0, 1], higher meaning more of the concept. {@link LexiconScorer} reads the
 * words (share of words hit); {@link ProbeScorer} reads the model's own activations (probability from a linear probe).
 */
public interface Scorer {

    double score(String text);
}
