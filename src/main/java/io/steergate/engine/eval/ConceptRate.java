package io.steergate.engine.eval;

import java.util.List;

/**
 * Share of generated texts that contain a concept (any lexicon hit), with a Wilson 95% interval: the headline number
 * of an evaluation, steered against unsteered. At stories260K's effect sizes (a few points) the interval shows
 * whether a difference is more than sampling noise.
 *
 * @param hits texts with at least one hit
 * @param total texts scored
 * @param rate hits / total
 * @param low lower end of the Wilson 95% interval
 * @param high upper end of the Wilson 95% interval
 */
public record ConceptRate(int hits, int total, double rate, double low, double high) {

    /** The two-sided 95% normal quantile, z = Phi^-1(0.975). */
    public static final double Z95 = 1.959963984540054;

    /**
     * Scores {@code texts} with {@code scorer}.
     *
     * @throws IllegalArgumentException if there are no texts
     */
    public static ConceptRate of(List<String> texts, LexiconScorer scorer) {
        int hits = (int) texts.stream().filter(scorer::hits).count();
        return of(hits, texts.size());
    }

    /**
     * The rate and Wilson score interval for {@code hits} out of {@code total}: centre (p + z^2/2n) / (1 + z^2/n),
     * half-width z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2) (Wilson 1927).
     *
     * @throws IllegalArgumentException if total is not positive or hits is outside [0, total]
     */
    public static ConceptRate of(int hits, int total) {
        if (total <= 0) {
            throw new IllegalArgumentException("total must be positive, was " + total);
        }
        if (hits < 0 || hits > total) {
            throw new IllegalArgumentException("hits must be in [0, " + total + "], was " + hits);
        }
        double n = total;
        double p = hits / n;
        double z2 = Z95 * Z95;
        double denominator = 1 + z2 / n;
        double centre = (p + z2 / (2 * n)) / denominator;
        double half = Z95 / denominator * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        // At p = 0 or 1 the ends are exactly 0 and 1; clamp away rounding.
        double low = hits == 0 ? 0.0 : Math.max(0.0, centre - half);
        double high = hits == total ? 1.0 : Math.min(1.0, centre + half);
        return new ConceptRate(hits, total, p, low, high);
    }

    /** Whether the two intervals are disjoint: a rough sign that the rates differ beyond noise. */
    public boolean differsFrom(ConceptRate other) {
        return high < other.low || other.high < low;
    }
}
