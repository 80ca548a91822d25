package io.steergate.retraining;

import io.steergate.engine.eval.ConceptRate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The evaluation gate's rule: a candidate PASSES when both hold, and is REFUSED otherwise.
 *
 * <ol>
 * <li><b>Lower concept rate beyond sampling noise.</b> The 95% interval of the difference d = candidate rate -
 * baseline rate, by Newcombe's hybrid score method (Newcombe 1998, method 10) built from the two Wilson 95% intervals
 * {@link ConceptRate} reports: upper = d + sqrt((candidate.high - candidate.rate)^2 + (baseline.rate -
 * baseline.low)^2). The upper end must be below 0 (strictly): a one-sided test at about the 2.5% level that the
 * candidate's rate is lower. Why this and not the simpler rules: disjoint intervals test at about 0.5% and refuse
 * real improvements at the rates stories260K shows (a few per cent); "candidate's upper bound below the baseline's
 * estimate" treats the baseline's own estimate as exact. The rows of the two measurements are paired (same prompts,
 * same seeds), which makes the true difference less noisy than two independent samples: treating them as
 * independent, as this interval does, errs on the side of refusing.</li>
 * <li><b>No worse perplexity.</b> candidate perplexity / baseline perplexity on the same passages must be at most 1 +
 * tolerance ({@code steergate.retraining.gate.perplexity-tolerance}). Perplexity is deterministic for a map, so no
 * interval is needed; the tolerance is what an operator accepts to pay for the concept.</li>
 * </ol>
 * The baseline is the intervention's active version at the same strength, or the unsteered model when none is
 * active. The desired-side rate is reported but not part of the rule: on stories260K it does not move with the
 * concept (EVALUATION.md: kindness words never rise).
 */
final class GateRule {

    /** The rule in one line, stored with every report. */
    static final String TEXT = "PASSED when the upper end of the Newcombe 95% interval of (candidate - baseline) concept"
            + " rate is below 0 and candidate perplexity / baseline perplexity <= 1 + tolerance; otherwise REFUSED";

    enum Verdict { PASSED, REFUSED }

    /**
     * What the rule found.
     *
     * @param difference candidate rate - baseline rate
     * @param differenceLow lower end of its 95% interval
     * @param differenceHigh upper end; must be below 0
     * @param perplexityRatio candidate / baseline perplexity; must be at most 1 + tolerance
     * @param perplexityTolerance the tolerance it was held to
     * @param reasons why it was refused (empty when PASSED)
     */
    record Decision(Verdict verdict, double difference, double differenceLow, double differenceHigh,
            double perplexityRatio, double perplexityTolerance, List<String> reasons) {}

    private GateRule() {
    }

    /**
     * @throws IllegalArgumentException when a perplexity is not positive or the tolerance is negative
     */
    static Decision decide(ConceptRate candidate, ConceptRate baseline, double candidatePerplexity,
            double baselinePerplexity, double tolerance) {
        if (!(candidatePerplexity > 0) || !(baselinePerplexity > 0)) {
            throw new IllegalArgumentException("perplexities must be positive, got " + candidatePerplexity + " and "
                    + baselinePerplexity);
        }
        if (!(tolerance >= 0)) {
            throw new IllegalArgumentException("perplexity tolerance must be at least 0, got " + tolerance);
        }
        double d = candidate.rate() - baseline.rate();
        double low = d - Math.hypot(candidate.rate() - candidate.low(), baseline.high() - baseline.rate());
        double high = d + Math.hypot(candidate.high() - candidate.rate(), baseline.rate() - baseline.low());
        double ratio = candidatePerplexity / baselinePerplexity;
        List<String> reasons = new ArrayList<>();
        if (!(high < 0)) {
            reasons.add(String.format(Locale.ROOT, "concept rate not lower beyond noise: %s vs %s, difference %+.1f "
                    + "points, 95%% interval up to %+.1f (must be below 0)", percent(candidate), percent(baseline),
                    100 * d, 100 * high));
        }
        if (!(ratio <= 1 + tolerance)) {
            reasons.add(String.format(Locale.ROOT, "perplexity ratio %.4f above 1 + %.4f", ratio, tolerance));
        }
        return new Decision(reasons.isEmpty() ? Verdict.PASSED : Verdict.REFUSED, d, low, high, ratio, tolerance,
                List.copyOf(reasons));
    }

    /** "3/400 0.8% [0.3, 2.2]". */
    static String percent(ConceptRate r) {
        return String.format(Locale.ROOT, "%d/%d %.1f%% [%.1f, %.1f]", r.hits(), r.total(), 100 * r.rate(),
                100 * r.low(), 100 * r.high());
    }
}
