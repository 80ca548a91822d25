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
 * @param trainMillis wall time of the whole training, target collection included
 */
public record LineasFit(Intervention intervention, List<HookSite> sites, double[] lossHistory, double initialLoss,
        double finalLoss, int skippedSteps, boolean cancelled, String sourceSha256, String targetSha256,
        long trainMillis) {

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
