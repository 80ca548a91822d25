package io.steergate.policy;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * One tenant policy as read from a policies/*.yaml file by {@link PolicyParser} (format: policies/README.md). Immutable;
 * {@link PolicyEvaluator} turns it and a request into a {@link Decision}.
 *
 * @param id              the policy id, equal to the file name without {@code .yaml}
 * @param version         {@code "sha256:"} + hex sha256 of the file bytes
 * @param source          the file name the policy was read from
 * @param description     free text, empty when absent
 * @param tenants         the tenants the policy covers; {@code "*"} (only in {@code default}) covers every tenant no
 *                        other policy covers
 * @param explicitSteering what happens to the request's explicit {@code steering} asks
 * @param explicitMaxStrength the clamp for {@link ExplicitSteering#CLAMP}
 * @param siteStrengthCap the cap on the summed strength of the plan at any one hook site; infinite when absent
 * @param disallowedStyles what happens to a requested style the policy does not offer
 * @param styles          the styles a request may ask for, by style name
 * @param conflicts       groups of styles that contradict each other: asking for two of a group is rejected
 * @param rules           evaluated in order; each matching rule applies its interventions
 * @param scorers         scorers run on outputs under this policy (lexicons by the gateway, probes by the worker)
 * @param review          which outputs besides flagged ones go to the review queue ({@link ReviewSampling#NONE} when absent)
 * @param escalation      what happens to an output a scorer flags; {@link Escalation#NONE} when absent (delivered)
 * @param retraining      triggers that queue a retraining job when audit or review data show an intervention failing
 */
public record Policy(
        String id,
        String version,
        String source,
        String description,
        List<String> tenants,
        ExplicitSteering explicitSteering,
        double explicitMaxStrength,
        double siteStrengthCap,
        DisallowedStyles disallowedStyles,
        Map<String, StyleGrant> styles,
        List<Set<String>> conflicts,
        List<Rule> rules,
        List<ScorerSpec> scorers,
        ReviewSampling review,
        Escalation escalation,
        List<RetrainingTrigger> retraining) {

    /** The tenant pattern that makes a policy the fallback for uncovered tenants. */
    public static final String ANY_TENANT = "*";

    public Policy {
        tenants = List.copyOf(tenants);
        styles = ordered(styles);
        conflicts = conflicts.stream().map(Policy::ordered).toList();
        rules = List.copyOf(rules);
        scorers = List.copyOf(scorers);
        escalation = escalation == null ? Escalation.NONE : escalation;
        retraining = List.copyOf(retraining);
    }

    /** The interventions this policy names: applied by its rules, behind its styles, or in its rules' conditions. */
    public Set<String> interventions() {
        Set<String> names = new TreeSet<>();
        styles.values().forEach(grant -> names.add(grant.intervention()));
        for (Rule rule : rules) {
            rule.apply().forEach(application -> names.add(application.intervention()));
            names.addAll(rule.when().steering());
        }
        escalation.rungs().forEach(rung -> rung.apply().forEach(application -> names.add(application.intervention())));
        return names;
    }

    /** What a policy does with the request's explicit steering asks. */
    public enum ExplicitSteering {
        /** Applied as asked; an ask without a strength gets 1.0. */
        ALLOW,
        /** Applied, with the strength lowered to {@code explicitMaxStrength}. */
        CLAMP,
        /** Any explicit ask rejects the request with POLICY_DENIED naming the intervention. */
        DENY,
        /** Explicit asks are dropped silently (the trace says so); the request goes on. */
        DROP
    }

    /** What a policy does with a requested style it does not offer. */
    public enum DisallowedStyles {
        /** The request is rejected with STYLE_NOT_ALLOWED naming the style. */
        REJECT,
        /** The style is dropped (the trace says so); the request goes on. */
        DROP
    }

    /** A style a request may ask for: the intervention behind it and its strength limits. */
    public record StyleGrant(String style, String intervention, double defaultStrength, double maxStrength) {}

    /**
     * One rule: when its condition holds, its interventions are applied; {@code counterfactual} (null: none) asks for
     * the unsteered continuation of a share of the requests it matches.
     */
    public record Rule(String name, Condition when, List<Application> apply, Counterfactual counterfactual) {
        public Rule {
            apply = List.copyOf(apply);
        }

        public Rule(String name, Condition when, List<Application> apply) {
            this(name, when, apply, null);
        }
    }

    /**
     * Counterfactual sampling of a rule: {@code share} in [0, 1] of the requests it matches also get the unsteered
     * continuation (same seed, empty plan), stored with the audit record; {@code deliver} also puts it in the result.
     */
    public record Counterfactual(double share, boolean deliver) {

        /** Mixed into the seed so that the draw is not the seed's first sampled number. */
        private static final long SALT = 0x5DEECE66DL;

        /**
         * Whether the request with this generation seed is sampled: a pure function of the seed, so a redelivered or
         * repeated request draws the same; share 1 always, share 0 never.
         */
        public boolean drawn(long seed) {
            return new SplittableRandom(seed ^ SALT).nextDouble() < share;
        }
    }

    /**
     * The escalation ladder: when a scorer flags an output (its threshold crossed), the request is generated again
     * with the next rung's interventions on top of its decided plan; when the last rung's output is still flagged,
     * {@code onFailure} says what happens. No rungs: a flagged output goes straight to onFailure.
     */
    public record Escalation(List<Rung> rungs, OnFailure onFailure) {

        /** No ladder: flagged outputs are delivered with their flag. */
        public static final Escalation NONE = new Escalation(List.of(), OnFailure.FLAG);
        /** At most this many rungs: each is a full generation more, and the rung is a metric label. */
        public static final int MAX_RUNGS = 4;
        /**
         * The largest strength a rung may ask: the engine's SteeringPlan.MAX_STRENGTH (above 1 the map is
         * extrapolated; PolicyParserTest checks the two agree, the policy package does not depend on the engine's).
         */
        public static final double MAX_RUNG_STRENGTH = 4.0;

        public Escalation {
            rungs = List.copyOf(rungs);
        }

        /** The rung of attempt {@code attempt} (1-based: attempt 0 is the decided plan), when the ladder has it. */
        public Optional<Rung> rung(int attempt) {
            return attempt >= 1 && attempt <= rungs.size() ? Optional.of(rungs.get(attempt - 1)) : Optional.empty();
        }
    }

    /** One rung: interventions raised to (or added at) these strengths on top of the decided plan. */
    public record Rung(List<Application> apply) {
        public Rung {
            apply = List.copyOf(apply);
        }
    }

    /** What happens when the last rung's output is still flagged. */
    public enum OnFailure {
        /** REJECTED with OUTPUT_WITHHELD naming the scores over their thresholds; the text is not delivered. */
        WITHHOLD,
        /** COMPLETED, delivered with the flagging scorers in GenerationResult.flagged (the review queue takes it). */
        FLAG
    }

    /** An intervention a rule applies and at which strength. */
    public record Application(String intervention, double strength) {}

    /**
     * A rule condition: every present part must hold. Absent parts are empty and hold always.
     *
     * @param labels   every key must be present in the request's labels with one of the listed values
     * @param styles   the request asks for at least one of these styles
     * @param tenants  the request's tenant is one of these
     * @param steering the request explicitly asks for at least one of these interventions
     */
    public record Condition(Map<String, Set<String>> labels, Set<String> styles, Set<String> tenants, Set<String> steering) {

        public static final Condition ALWAYS = new Condition(Map.of(), Set.of(), Set.of(), Set.of());

        public Condition {
            Map<String, Set<String>> copy = new LinkedHashMap<>();
            labels.forEach((key, values) -> copy.put(key, ordered(values)));
            labels = Collections.unmodifiableMap(copy);
            styles = ordered(styles);
            tenants = ordered(tenants);
            steering = ordered(steering);
        }

        public boolean always() {
            return labels.isEmpty() && styles.isEmpty() && tenants.isEmpty() && steering.isEmpty();
        }
    }

    /**
     * A scorer the policy wants run on every output: a name (the key in GenerationResult.scores), what it reads, and an
     * optional threshold: a score at or above it flags the output (review queue, escalation); null never flags. A
     * lexicon scorer ({@code type: lexicon}, the default) names a word-list file relative to the policies directory,
     * which the service layer loads into the engine's LexiconScorer; a probe scorer ({@code type: probe}) carries
     * {@link Probe}, and the worker evaluates it during generation. Exactly one of {@code lexicon} and {@code probe}
     * is set.
     */
    public record ScorerSpec(String name, String lexicon, Double threshold, Probe probe) {

        /** A lexicon scorer. */
        public ScorerSpec(String name, String lexicon, Double threshold) {
            this(name, lexicon, threshold, null);
        }

        public boolean flags(Double score) {
            return threshold != null && score != null && score >= threshold;
        }

        public boolean isProbe() {
            return probe != null;
        }
    }

    /**
     * A probe scorer's definition: a logistic-regression probe on the served model's activations at {@code site},
     * trained on the intervention's shipped prompt sets ({@code prompts/<intervention>.source.jsonl} is the concept,
     * {@code .target.jsonl} is not), whose sha256 the parser recorded as it read them.
     */
    public record Probe(String intervention, String site, String sourceSha256, String targetSha256) {}

    /**
     * The {@code review} block: the share of outputs sampled into the review queue besides those a scorer flags (one
     * draw per record, so each (policy, intervention) group is sampled at this share), and the share of reviewed
     * records also given to a second reviewer (agreement). Both in [0, 1].
     */
    public record ReviewSampling(double sample, double agreement) {

        public static final ReviewSampling NONE = new ReviewSampling(0, 0);
    }

    // Insertion-ordered copies (Map.copyOf's order changes from one JVM run to the next), so traces are reproducible.
    static <V> Map<String, V> ordered(Map<String, V> map) {
        return Collections.unmodifiableMap(new LinkedHashMap<>(map));
    }

    static Set<String> ordered(Set<String> set) {
        return Collections.unmodifiableSet(new LinkedHashSet<>(set));
    }

    public boolean hasSiteCap() {
        return siteStrengthCap != Double.POSITIVE_INFINITY;
    }
}
