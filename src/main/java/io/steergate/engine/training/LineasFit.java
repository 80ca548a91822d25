package io.steergate.engine.training;

import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import java.util.List;

/**
 * The result of a LinEAS training, with what the trainer records beside the maps.
 *
 * @param intervention the trained maps (method {@link Intervention#LINEAS}, no supports); its metadata carries the
 *     hyperparameters, data hashes, initial and final loss and skipped steps too
 * @param sites the trained sites, in forward order
 * @param lossHistory the loss of every step run, before that step's update (NaN where it was not finite)
 * @param initialLoss the loss of step 1 (identity maps); NaN when no step ran
 * @param finalLoss the loss of the last step run (with the maps before its update); NaN when no step ran
 * @param skippedSteps steps whose loss or gradient was not finite; their update was skipped
 * @param cancelled true when the cancel signal stopped the training early: the maps are those of the last
 *     completed step
 * @param sourceSha256 sha256 of the source prompt list (see {@link io.steergate.engine.eval.PromptSet#sha256Of(List)})
 * @param targetSha256 sha256 of the target prompt list
 * @param trainMillis wall time of the whole training, target collection and W1 checks included
 * @param w1 per-site mean W1 of the training and held-out prompts before and after, and which step's maps came back
 */
public record LineasFit(Intervention intervention, List<HookSite> sites, double[] lossHistory, double initialLoss,
        double finalLoss, int skippedSteps, boolean cancelled, String sourceSha256, String targetSha256,
        long trainMillis, W1 w1) {

    /**
     * How far the steered source prompts lie from the clean target prompts: the mean over sites of the per-neuron
     * W1 of their pooled activations ({@link io.steergate.engine.eval.Wasserstein#siteMean}), maps at strength 1.
     *
     * @param trainBefore training sources (clean) against training targets
     * @param train training sources through the returned maps against training targets
     * @param heldOutPrompts prompts held out per side (source and target each); 0 without a split
     * @param heldOutBefore held-out sources (clean) against the training targets; NaN without a split
     * @param heldOut held-out sources through the returned maps against the training targets; NaN without a split
     * @param heldOutFloor held-out targets against the training targets: the W1 of a sample of the target
     *     distribution itself at the held-out size, which no map can be expected to beat; NaN without a split
     * @param mapsStep the step whose maps came back (0 = the identity): the last step run, or with early stopping the
     *     step of the best held-out check
     * @param stoppedEarly true when held-out W1 stopped improving for {@code patience} steps before the last step
     */
    public record W1(double trainBefore, double train, int heldOutPrompts, double heldOutBefore, double heldOut,
            double heldOutFloor, int mapsStep, boolean stoppedEarly) {
    }

    public LineasFit {
        sites = List.copyOf(sites);
        lossHistory = lossHistory.clone();
    }

    /** A copy of the per-step losses. */
    @Override
    public double[] lossHistory() {
        return lossHistory.clone();
    }

    /** Steps run (fewer than asked when cancelled). */
    public int stepsRun() {
        return lossHistory.length;
    }
}
