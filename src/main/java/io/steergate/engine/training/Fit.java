package io.steergate.engine.training;

import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import java.util.List;

/**
 * The result of fitting an intervention, with what a trainer records beside it.
 *
 * @param intervention the fitted maps (its metadata carries the data hashes and hyperparameters too)
 * @param sites the fitted sites, in the (forward) order they were fitted
 * @param sourcePrompts source prompts given
 * @param targetPrompts target prompts given
 * @param samplesPerSide prompts used per side after equalizing the counts
 * @param seed the seed of the equalizing subsample
 * @param sourceSha256 sha256 of the source prompt list (see {@link io.steergate.engine.eval.PromptSet#sha256Of(List)})
 * @param targetSha256 sha256 of the target prompt list
 * @param collectMillis time spent running the model to collect activations
 * @param fitMillis time spent in the closed-form fits
 */
public record Fit(Intervention intervention, List<HookSite> sites, int sourcePrompts, int targetPrompts,
        int samplesPerSide, long seed, String sourceSha256, String targetSha256, long collectMillis,
        long fitMillis) {

    public Fit {
        sites = List.copyOf(sites);
    }
}
