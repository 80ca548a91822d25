package io.steergate.engine.eval;

import io.steergate.engine.model.Completion;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.SteeringPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;

/**
 * Evaluates an intervention over a sweep of strengths (docs/steering-methods.md 4): concept and desired-word rates of
 * sampled continuations of held-out prompts, the steered model's perplexity against the unsteered one, how far the
 * intervened source activations lie from the clean target ones (per-site mean W1), and sparsity. Also a plan of
 * several interventions, to see what composition keeps of each effect. Plain Java; runs on the caller's thread.
 *
 * <p>Generations are paired across strengths: row i continues eval prompt i mod |eval| with seed seedBase + i at
 * every strength, so a difference between strengths is the steering, not the sampling.
 */
public final class Evaluation {

    /** |omega - 1| or |beta| above this counts a neuron as active. */
    public static final double ACTIVE = 1e-5;

    /**
     * How continuations are sampled. Defaults follow the LinEAS protocol (temperature 1.0, top-p 0.6) with 48 new
     * tokens and 200 generations (docs/steering-methods.md 4: fewer hide stories260K's effects in noise).
     *
     * @param n generations per configuration
     * @param maxTokens new tokens per generation
     * @param temperature sampling temperature
     * @param topP nucleus mass
     * @param seedBase row i samples with seed seedBase + i
     * @param batchSize rows per {@link Generator#generate} call, and texts per forward elsewhere
     */
    public record Options(int n, int maxTokens, float temperature, float topP, long seedBase, int batchSize) {

        public Options {
            if (n < 1) {
                throw new IllegalArgumentException("n must be at least 1, got " + n);
            }
            if (maxTokens < 1) {
                throw new IllegalArgumentException("maxTokens must be at least 1, got " + maxTokens);
            }
            if (batchSize < 1) {
                throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
            }
        }

        public static Options defaults() {
            return new Options(200, 48, 1.0f, 0.6f, 0L, 32);
        }

        public Options withN(int n) {
            return new Options(n, maxTokens, temperature, topP, seedBase, batchSize);
        }
    }

    /**
     * What one concept is measured with.
     *
     * @param name the concept (a lexicon name, e.g. {@code meanness})
     * @param evalPrompts held-out prompts to continue
     * @param concept lexicon of the concept to remove (or to count)
     * @param desired lexicon of the desired side, or null
     */
    public record Probe(String name, List<String> evalPrompts, LexiconScorer concept, LexiconScorer desired) {
        public Probe {
            Objects.requireNonNull(name, "name");
            evalPrompts = List.copyOf(evalPrompts);
            if (evalPrompts.isEmpty()) {
                throw new IllegalArgumentException("probe '" + name + "' has no eval prompts");
            }
            Objects.requireNonNull(concept, "concept");
        }
    }

    /**
     * The activation data for W1. Training: the intervened source prompts against the clean target prompts.
     * Held out: the intervened eval prompts (never seen by the fit) against the clean target prompts; "before" is the
     * same pair at strength 0. Either list may be empty: the corresponding W1 is then NaN.
     *
     * @param source the training source prompts
     * @param target the training target prompts
     * @param heldOut held-out prompts to steer (the eval prompts)
     */
    public record Activations(List<String> source, List<String> target, List<String> heldOut) {
        public Activations {
            source = List.copyOf(source);
            target = List.copyOf(target);
            heldOut = List.copyOf(heldOut);
        }
    }

    /**
     * One strength of a sweep.
     *
     * @param strength lambda
     * @param concept concept rate of the continuations, Wilson 95% interval
     * @param desired desired-word rate, or null without a desired lexicon
     * @param perplexity the steered model's perplexity on the perplexity texts
     * @param perplexityRatio perplexity / perplexity at strength 0
     * @param w1TrainBefore per-site mean W1 (averaged over the intervention's sites), source vs target, clean
     * @param w1TrainAfter the same with the source intervened at this strength
     * @param w1HeldOutBefore held-out prompts vs target, clean
     * @param w1HeldOutAfter held-out prompts intervened at this strength vs clean target
     * @param samples the first few continuations (prompt, completion), for reading
     */
    public record Point(double strength, ConceptRate concept, ConceptRate desired, double perplexity,
            double perplexityRatio, double w1TrainBefore, double w1TrainAfter, double w1HeldOutBefore,
            double w1HeldOutAfter, List<String[]> samples) {
    }

    /**
     * Sparsity of an intervention: neurons with |omega - 1| > {@link #ACTIVE} or |beta| > {@link #ACTIVE}.
     *
     * @param activeNeurons active (site, neuron) pairs
     * @param neurons all (site, neuron) pairs
     * @param activeSites sites with at least one active neuron
     * @param sites all sites
     */
    public record Sparsity(int activeNeurons, int neurons, int activeSites, int sites) {

        public static Sparsity of(Intervention intervention) {
            int active = 0;
            int total = 0;
            int activeSites = 0;
            for (AffineMap map : intervention.maps().values()) {
                int here = 0;
                for (int i = 0; i < map.width(); i++) {
                    if (Math.abs(map.omega()[i] - 1.0) > ACTIVE || Math.abs(map.beta()[i]) > ACTIVE) {
                        here++;
                    }
                }
                active += here;
                total += map.width();
                activeSites += here > 0 ? 1 : 0;
            }
            return new Sparsity(active, total, activeSites, intervention.maps().size());
        }
    }

    /** A sweep's result: one point per strength, with the intervention's sparsity and unsteered perplexity. */
    public record Sweep(String intervention, String method, Probe probe, Sparsity sparsity, double basePerplexity,
            List<Point> points) {
        public Sweep {
            points = List.copyOf(points);
        }
    }

    /**
     * One strength of a composition: each probe's concept rate with its own intervention alone and with the whole
     * plan, and the plan's perplexity ratio.
     *
     * @param strength lambda of every intervention of the plan
     * @param alone per probe, the rate with only its own intervention at this strength
     * @param composed per probe, the rate with all interventions at this strength, composed in order
     * @param perplexityRatio perplexity of the composed plan / unsteered
     */
    public record CompositionPoint(double strength, List<ConceptRate> alone, List<ConceptRate> composed,
            double perplexityRatio) {
        public CompositionPoint {
            alone = List.copyOf(alone);
            composed = List.copyOf(composed);
        }
    }

    private static final int SAMPLES_KEPT = 5;

    private final LlamaModel model;
    private final Generator generator;
    private final Options options;
    private final Runnable afterBatch;

    public Evaluation(LlamaModel model, Options options) {
        this(model, options, () -> { });
    }

    /**
     * @param afterBatch run after each batch of generations: the caller's progress point (a long evaluation inside a
     *                   job keeps the job's heartbeat fresh there); what it throws ends the evaluation
     */
    public Evaluation(LlamaModel model, Options options, Runnable afterBatch) {
        this.model = Objects.requireNonNull(model, "model");
        this.generator = new Generator(model);
        this.options = Objects.requireNonNull(options, "options");
        this.afterBatch = Objects.requireNonNull(afterBatch, "afterBatch");
    }

    /**
     * Sweeps {@code intervention} over {@code strengths}.
     *
     * @param intervention the maps to evaluate (checked against the model)
     * @param strengths lambdas in [0, SteeringPlan.MAX_STRENGTH], in the order to report
     * @param probe eval prompts and lexicons
     * @param activations prompts for the W1 columns
     * @param perplexityTexts passages for the perplexity ratio
     * @return one point per strength, in the given order
     * @throws IllegalArgumentException when the intervention does not fit the model or a strength is out of range
     */
    public Sweep sweep(Intervention intervention, List<Double> strengths, Probe probe, Activations activations,
            List<String> perplexityTexts) {
        intervention.checkCompatible(model.config(), model.fingerprint());
        List<HookSite> sites = List.copyOf(intervention.maps().keySet());
        double base = Perplexity.of(model, perplexityTexts, null, options.batchSize()).perplexity();
        ActivationCollector collector = new ActivationCollector(model, options.batchSize());
        SortedMap<HookSite, float[][]> target = collect(collector, activations.target(), sites, null);
        SortedMap<HookSite, float[][]> sourceClean = collect(collector, activations.source(), sites, null);
        SortedMap<HookSite, float[][]> heldOutClean = collect(collector, activations.heldOut(), sites, null);
        double w1TrainBefore = meanW1(sourceClean, target);
        double w1HeldOutBefore = meanW1(heldOutClean, target);
        List<Point> points = new ArrayList<>();
        for (double s : strengths) {
            SteeringPlan plan = SteeringPlan.of(intervention, s);
            List<String[]> texts = generate(probe.evalPrompts(), plan);
            List<String> completions = texts.stream().map(t -> t[1]).toList();
            ConceptRate concept = ConceptRate.of(completions, probe.concept());
            ConceptRate desired = probe.desired() == null ? null : ConceptRate.of(completions, probe.desired());
            double ppl = Perplexity.of(model, perplexityTexts, plan, options.batchSize()).perplexity();
            double w1TrainAfter = meanW1(collect(collector, activations.source(), sites, plan), target);
            double w1HeldOutAfter = meanW1(collect(collector, activations.heldOut(), sites, plan), target);
            points.add(new Point(s, concept, desired, ppl, ppl / base, w1TrainBefore, w1TrainAfter, w1HeldOutBefore,
                    w1HeldOutAfter, texts.subList(0, Math.min(SAMPLES_KEPT, texts.size()))));
        }
        return new Sweep(intervention.name(), intervention.method(), probe, Sparsity.of(intervention), base, points);
    }

    /**
     * Composition: for each strength, every intervention at that strength in plan order, against each one alone.
     * {@code probes.get(i)} measures {@code interventions.get(i)}'s concept.
     */
    public List<CompositionPoint> compose(List<Intervention> interventions, List<Probe> probes,
            List<Double> strengths, List<String> perplexityTexts) {
        if (interventions.size() != probes.size() || interventions.isEmpty()) {
            throw new IllegalArgumentException("need one probe per intervention, got " + interventions.size()
                    + " interventions and " + probes.size() + " probes");
        }
        for (Intervention iv : interventions) {
            iv.checkCompatible(model.config(), model.fingerprint());
        }
        double base = Perplexity.of(model, perplexityTexts, null, options.batchSize()).perplexity();
        List<CompositionPoint> out = new ArrayList<>();
        for (double s : strengths) {
            SteeringPlan composed = SteeringPlan.compose(interventions.stream()
                    .map(iv -> new SteeringPlan.Step(iv, s)).toList());
            List<ConceptRate> alone = new ArrayList<>();
            List<ConceptRate> together = new ArrayList<>();
            for (int i = 0; i < probes.size(); i++) {
                Probe probe = probes.get(i);
                alone.add(rate(probe, SteeringPlan.of(interventions.get(i), s)));
                together.add(rate(probe, composed));
            }
            double ppl = Perplexity.of(model, perplexityTexts, composed, options.batchSize()).perplexity();
            out.add(new CompositionPoint(s, alone, together, ppl / base));
        }
        return out;
    }

    private ConceptRate rate(Probe probe, SteeringPlan plan) {
        return ConceptRate.of(generate(probe.evalPrompts(), plan).stream().map(t -> t[1]).toList(), probe.concept());
    }

    /** n continuations (prompt, completion): row i continues prompt i mod |prompts| with seed seedBase + i. */
    List<String[]> generate(List<String> prompts, SteeringPlan plan) {
        SteeringPlan steering = plan == null || plan.isEmpty() ? null : plan;
        List<String[]> out = new ArrayList<>(options.n());
        for (int from = 0; from < options.n(); from += options.batchSize()) {
            int to = Math.min(options.n(), from + options.batchSize());
            List<GenerationInput> rows = new ArrayList<>(to - from);
            for (int i = from; i < to; i++) {
                rows.add(new GenerationInput(prompts.get(i % prompts.size()), options.maxTokens(),
                        options.temperature(), options.topP(), options.seedBase() + i, steering));
            }
            List<Completion> done = generator.generate(rows);
            for (int i = 0; i < done.size(); i++) {
                out.add(new String[] {rows.get(i).prompt(), done.get(i).text()});
            }
            afterBatch.run();
        }
        return out;
    }

    private static SortedMap<HookSite, float[][]> collect(ActivationCollector collector, List<String> prompts,
            List<HookSite> sites, SteeringPlan plan) {
        return prompts.isEmpty() ? null : collector.collect(prompts, sites, plan);
    }

    /** Mean over sites of {@link Wasserstein#siteMean}; NaN when either side is missing. */
    public static double meanW1(Map<HookSite, float[][]> a, Map<HookSite, float[][]> b) {
        if (a == null || b == null || a.isEmpty()) {
            return Double.NaN;
        }
        double sum = 0;
        for (Map.Entry<HookSite, float[][]> e : a.entrySet()) {
            sum += Wasserstein.siteMean(e.getValue(), b.get(e.getKey()));
        }
        return sum / a.size();
    }
}
