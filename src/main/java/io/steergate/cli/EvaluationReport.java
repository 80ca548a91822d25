package io.steergate.cli;

import io.steergate.engine.eval.ConceptRate;
import io.steergate.engine.eval.Evaluation;
import io.steergate.engine.eval.SvgChart;
import java.util.List;
import java.util.Locale;

/** Renders evaluation results for {@code steer evaluate}: a console table, a Markdown report and an SVG chart. */
final class EvaluationReport {

    private EvaluationReport() {
    }

    static String rate(ConceptRate r) {
        return r == null ? "-" : String.format(Locale.ROOT, "%d/%d %.1f%% [%.1f, %.1f]", r.hits(), r.total(),
                100 * r.rate(), 100 * r.low(), 100 * r.high());
    }

    private static String num(double x) {
        return Double.isNaN(x) ? "-" : String.format(Locale.ROOT, "%.4f", x);
    }

    /** The sweep as fixed-width text. */
    static String table(Evaluation.Sweep sweep) {
        StringBuilder s = new StringBuilder();
        Evaluation.Sparsity sp = sweep.sparsity();
        s.append(String.format(Locale.ROOT, "%s (%s): active neurons %d/%d, active sites %d/%d; unsteered ppl %.4f%n",
                sweep.intervention(), sweep.method(), sp.activeNeurons(), sp.neurons(), sp.activeSites(), sp.sites(),
                sweep.basePerplexity()));
        s.append(String.format(Locale.ROOT, "%-8s %-26s %-26s %9s %17s %17s%n", "strength",
                sweep.probe().name() + " rate [95% CI]", "desired rate [95% CI]", "ppl ratio",
                "W1 train bef/aft", "W1 held bef/aft"));
        for (Evaluation.Point p : sweep.points()) {
            s.append(String.format(Locale.ROOT, "%-8.2f %-26s %-26s %9.4f %8s/%-8s %8s/%-8s%n", p.strength(),
                    rate(p.concept()), rate(p.desired()), p.perplexityRatio(), num(p.w1TrainBefore()),
                    num(p.w1TrainAfter()), num(p.w1HeldOutBefore()), num(p.w1HeldOutAfter())));
        }
        return s.toString();
    }

    /** The composition as fixed-width text; {@code names} are the probes' concepts, in plan order. */
    static String compositionTable(List<String> names, List<Evaluation.CompositionPoint> points) {
        StringBuilder s = new StringBuilder(String.format("%-8s", "strength"));
        for (String n : names) {
            s.append(String.format(" %-26s %-26s", n + " alone", n + " composed"));
        }
        s.append(String.format(" %9s%n", "ppl ratio"));
        for (Evaluation.CompositionPoint p : points) {
            s.append(String.format(Locale.ROOT, "%-8.2f", p.strength()));
            for (int i = 0; i < names.size(); i++) {
                s.append(String.format(" %-26s %-26s", rate(p.alone().get(i)), rate(p.composed().get(i))));
            }
            s.append(String.format(Locale.ROOT, " %9.4f%n", p.perplexityRatio()));
        }
        return s.toString();
    }

    /** A Markdown report: the settings, the sweep table, composition if any, and a few samples per strength. */
    static String markdown(String command, Evaluation.Options options, Evaluation.Sweep sweep, List<String> names,
            List<Evaluation.CompositionPoint> composition) {
        StringBuilder s = new StringBuilder();
        Evaluation.Sparsity sp = sweep.sparsity();
        s.append("# Evaluation of `").append(sweep.intervention()).append("` (").append(sweep.method()).append(")\n\n");
        s.append("Command:\n\n```\n").append(command).append("\n```\n\n");
        s.append(String.format(Locale.ROOT, "N = %d continuations per configuration (eval prompt i mod |eval|, seed "
                + "%d + i), %d new tokens, temperature %.2f, top-p %.2f. Active neurons %d/%d, active sites %d/%d. "
                + "Unsteered perplexity %.4f.%n%n", options.n(), options.seedBase(), options.maxTokens(),
                options.temperature(), options.topP(), sp.activeNeurons(), sp.neurons(), sp.activeSites(), sp.sites(),
                sweep.basePerplexity()));
        s.append("W1: per-site mean 1-D Wasserstein distance, averaged over the intervention's sites, between pooled "
                + "activations. Train: source prompts (intervened at the strength) vs clean target prompts. Held out: "
                + "eval prompts (intervened) vs clean target prompts. Before = strength 0.\n\n");
        s.append("| strength | ").append(sweep.probe().name()).append(" rate [95% CI] | desired rate [95% CI] | "
                + "ppl ratio | W1 train before | W1 train after | W1 held-out before | W1 held-out after |\n");
        s.append("|---|---|---|---|---|---|---|---|\n");
        for (Evaluation.Point p : sweep.points()) {
            s.append(String.format(Locale.ROOT, "| %.2f | %s | %s | %.4f | %s | %s | %s | %s |%n", p.strength(),
                    rate(p.concept()), rate(p.desired()), p.perplexityRatio(), num(p.w1TrainBefore()),
                    num(p.w1TrainAfter()), num(p.w1HeldOutBefore()), num(p.w1HeldOutAfter())));
        }
        if (composition != null && !composition.isEmpty()) {
            s.append("\n## Composition (every map at the strength, in order)\n\n| strength |");
            for (String n : names) {
                s.append(' ').append(n).append(" alone | ").append(n).append(" composed |");
            }
            s.append(" ppl ratio |\n|---|");
            s.append("---|---|".repeat(names.size())).append("---|\n");
            for (Evaluation.CompositionPoint p : composition) {
                s.append(String.format(Locale.ROOT, "| %.2f |", p.strength()));
                for (int i = 0; i < names.size(); i++) {
                    s.append(' ').append(rate(p.alone().get(i))).append(" | ").append(rate(p.composed().get(i)))
                            .append(" |");
                }
                s.append(String.format(Locale.ROOT, " %.4f |%n", p.perplexityRatio()));
            }
        }
        s.append("\n## Samples (first continuations at each strength)\n");
        for (Evaluation.Point p : sweep.points()) {
            s.append(String.format(Locale.ROOT, "%n### strength %.2f%n%n", p.strength()));
            for (String[] t : p.samples()) {
                s.append("- ").append(t[0].replace("\n", " ")).append(" **").append(t[1].replace("\n", " ").strip())
                        .append("**\n");
            }
        }
        return s.toString();
    }

    /** Concept rate (%) against strength: the sweep's concept and desired series, plus composition series. */
    static SvgChart chart(Evaluation.Sweep sweep, List<String> names, List<Evaluation.CompositionPoint> composition) {
        SvgChart chart = new SvgChart("Concept rate vs strength: " + sweep.intervention() + " (" + sweep.method() + ")",
                "strength", "rate of continuations (%)");
        List<Evaluation.Point> pts = sweep.points();
        double[] x = pts.stream().mapToDouble(Evaluation.Point::strength).toArray();
        chart.series(sweep.probe().name() + " (" + sweep.intervention() + ")", x,
                pts.stream().mapToDouble(p -> 100 * p.concept().rate()).toArray());
        if (sweep.probe().desired() != null) {
            chart.series("desired (" + sweep.intervention() + ")", x,
                    pts.stream().mapToDouble(p -> 100 * p.desired().rate()).toArray());
        }
        if (composition != null && !composition.isEmpty()) {
            double[] cx = composition.stream().mapToDouble(Evaluation.CompositionPoint::strength).toArray();
            for (int i = 0; i < names.size(); i++) {
                int k = i;
                chart.series(names.get(i) + " (composed)", cx,
                        composition.stream().mapToDouble(p -> 100 * p.composed().get(k).rate()).toArray());
                if (i > 0) {
                    chart.series(names.get(i) + " (alone)", cx,
                            composition.stream().mapToDouble(p -> 100 * p.alone().get(k).rate()).toArray());
                }
            }
        }
        return chart;
    }
}
