package io.steergate.retraining;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The evaluation gate ({@code steergate.retraining.gate.*}): how a candidate is measured (see {@link GateRule}), and
 * the held-out set and lexicons of interventions whose jobs name none. Files are relative to
 * {@code steergate.policy.dir}.
 */
@ConfigMapping(prefix = "steergate.retraining.gate")
public interface GateConfig {

    /**
     * Generations per measurement (row i continues held-out prompt i mod |set| with seed i). The concepts of
     * stories260K occur in a few per cent of continuations: a few hundred are needed before a halving stands out.
     */
    @WithDefault("400")
    int generations();

    /** New tokens per generation. */
    @WithDefault("48")
    int maxTokens();

    /** The candidate's perplexity may exceed the baseline's by this share at most. */
    @WithDefault("0.10")
    double perplexityTolerance();

    /** The strength both maps are measured at when neither the request nor the intervention's default names one. */
    @WithDefault("1.0")
    double strength();

    /** Passages for perplexity (JSONL), relative to the policy directory. */
    @WithDefault("prompts/perplexity.jsonl")
    String perplexityTexts();

    /** By intervention name: what its jobs are evaluated with when the request has no {@code evaluation}. */
    Map<String, Default> defaults();

    /** An intervention's default evaluation. */
    interface Default {

        /** A JSONL file relative to the policy directory, stored as a prompt set on first use (see GateSpecs). */
        String prompts();

        /** Lexicon name: lexicons/&lt;name&gt;.txt under the policy directory. */
        String concept();

        Optional<String> desired();

        OptionalDouble strength();
    }
}
