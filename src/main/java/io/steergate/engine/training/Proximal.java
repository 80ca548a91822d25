package io.steergate.engine.training;

import java.util.Locale;

/**
 * LinEAS's proximal steps toward the identity map (arXiv 2503.10679, Algorithm 1 line 13; docs/steering-methods.md 3.4),
 * applied after each Adam update with τ = the current learning rate. They shrink ω − 1 and β, never ω itself. One call
 * handles one site; the arrays are updated in place. Arithmetic in double, stored back as float.
 */
public final class Proximal {

    /** In which metric the group-lasso step is taken. */
    public enum Metric {
        /** τ = the learning rate, as the paper and its reference code take it. */
        LR,
        /**
         * τ = the learning rate over the group's mean Adam denominator (mean of sqrt(v̂) + ε): the step taken in Adam's
         * own metric, approximated by one scale per group (as proximal Adam methods precondition the prox, e.g. ProxGen,
         * Yun, Lozano, Yang 2021). Adam moves every consistently pulled coordinate by about the learning rate whatever
         * its gradient's size, so with {@link #LR} the weight compares with that step, not with how much a site matters,
         * and every site goes at about the same weight (EVALUATION.md, session 19); in Adam's metric it compares with the
         * site's gradients.
         */
        ADAM,
        /**
         * {@link #ADAM}, with the β group measured in units of the site's activation spread σ (the root mean per-neuron
         * variance of the source activations there, pooled as the fit pools): its weight is also divided by σ. ω − 1 is
         * relative to the activation already, β / σ is too; without it a shift where the residual stream is small (σ
         * 0.3 at {@code layers.0.resid} against 1.0 at {@code layers.4.resid} on stories260K) costs a third of the
         * same relative shift four layers later. With it layer 0 is no longer the site the group step keeps, but layer
         * 1 is: the deeper sites that carry the behaviour still go first (EVALUATION.md, session 21).
         */
        ADAM_RELATIVE;

        /** How the command line and the map metadata name it: "lr", "adam", "adam-relative". */
        public String wireName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        /**
         * The metric a wire name names.
         *
         * @throws IllegalArgumentException "proxMetric: must be lr, adam or adam-relative, got '...'"
         */
        public static Metric parse(String wireName) {
            for (Metric metric : values()) {
                if (metric.wireName().equals(wireName)) {
                    return metric;
                }
            }
            throw new IllegalArgumentException("proxMetric: must be lr, adam or adam-relative, got '" + wireName + "'");
        }
    }

    private Proximal() {
    }

    /**
     * L1 soft-threshold (neuron selection): ω ← 1 + sign(ω−1)·max(|ω−1| − τλ1w, 0), β ← sign(β)·max(|β| − τλ1b, 0).
     *
     * @param omega one site's scales, updated in place
     * @param beta one site's shifts, updated in place
     * @param tau the step size (the current learning rate)
     * @param lambda1w L1 weight on ω − 1
     * @param lambda1b L1 weight on β
     */
    public static void l1(float[] omega, float[] beta, double tau, double lambda1w, double lambda1b) {
        checkWidths(omega, beta);
        double tw = tau * lambda1w;
        double tb = tau * lambda1b;
        for (int k = 0; k < omega.length; k++) {
            omega[k] = (float) (1 + softThreshold(omega[k] - 1.0, tw));
            beta[k] = (float) softThreshold(beta[k], tb);
        }
    }

    /**
     * Group lasso with one group for the site's ω − 1 and one for its β (layer selection):
     * v ← max(0, 1 − τλ2·sqrt(D)/||v||₂)·v, and v = 0 when ||v||₂ = 0.
     *
     * @param omega one site's scales, updated in place
     * @param beta one site's shifts, updated in place
     * @param tau the step size (the current learning rate)
     * @param lambda2w group weight on ω − 1
     * @param lambda2b group weight on β
     */
    public static void groupLasso(float[] omega, float[] beta, double tau, double lambda2w, double lambda2b) {
        checkWidths(omega, beta);
        double sqrtD = Math.sqrt(omega.length);
        double normW = 0;
        double normB = 0;
        for (int k = 0; k < omega.length; k++) {
            double v = omega[k] - 1.0;
            normW += v * v;
            normB += (double) beta[k] * beta[k];
        }
        double scaleW = groupScale(Math.sqrt(normW), tau * lambda2w * sqrtD);
        double scaleB = groupScale(Math.sqrt(normB), tau * lambda2b * sqrtD);
        for (int k = 0; k < omega.length; k++) { // a zeroed group is exactly (1, +0), never -0
            omega[k] = scaleW > 0 ? (float) (1 + scaleW * (omega[k] - 1.0)) : 1f;
            beta[k] = scaleB > 0 ? (float) (scaleB * beta[k]) : 0f;
        }
    }

    /**
     * The sparse-group step of LinEAS: {@link #l1} then {@link #groupLasso}; the L1 weight is the same for ω and β (the
     * reference code's default when the bias weights are not given), the group weights are given per group (equal
     * with {@link Metric#LR}). A weight of 0 skips its step.
     */
    public static void sparseGroup(float[] omega, float[] beta, double tau, double lambda1, double lambda2w,
            double lambda2b) {
        if (lambda1 > 0) {
            l1(omega, beta, tau, lambda1, lambda1);
        }
        if (lambda2w > 0 || lambda2b > 0) {
            groupLasso(omega, beta, tau, lambda2w, lambda2b);
        }
    }

    private static double softThreshold(double v, double t) {
        double m = Math.abs(v) - t;
        return m > 0 ? Math.signum(v) * m : 0.0;
    }

    // max(0, 1 - t/||v||), 0 for a zero group (the reference turns its NaN into 0)
    private static double groupScale(double norm, double t) {
        return norm > 0 ? Math.max(0.0, 1.0 - t / norm) : 0.0;
    }

    private static void checkWidths(float[] omega, float[] beta) {
        if (omega.length != beta.length) {
            throw new IllegalArgumentException("omega has " + omega.length + " values; beta has " + beta.length);
        }
    }
}
