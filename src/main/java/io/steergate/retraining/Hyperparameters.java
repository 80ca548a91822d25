package io.steergate.retraining;

import io.steergate.engine.training.TrainingSettings;

/**
 * What a job trains with, defaults filled in; stored as the job's hyperparameters_json. steps, learningRate, l1,
 * groupLasso, heldOut and patience drive LinEAS only; seed drives every method (the count-equalizing subsample,
 * LinEAS's batch shuffle and held-out split). Jobs stored before heldOut and patience existed read them as 0: no split.
 */
public record Hyperparameters(int steps, double learningRate, double l1, double groupLasso, long seed, double heldOut,
        int patience) {

    /** A request's fields, each absent one taken from {@code defaults}. */
    static Hyperparameters of(TrainingRequest body, TrainingSettings defaults) {
        return new Hyperparameters(body.steps() == null ? defaults.steps() : body.steps(),
                body.learningRate() == null ? defaults.learningRate() : body.learningRate(),
                body.l1() == null ? defaults.l1() : body.l1(),
                body.groupLasso() == null ? defaults.groupLasso() : body.groupLasso(),
                body.seed() == null ? defaults.seed() : body.seed(),
                body.heldOut() == null ? defaults.heldOut() : body.heldOut(),
                body.patience() == null ? defaults.patience() : body.patience());
    }

    /** These values over {@code defaults}, which supply what a job cannot set (batch size, target collection). */
    TrainingSettings settings(TrainingSettings defaults) {
        return defaults.withSteps(steps).withLearningRate(learningRate).withL1(l1).withGroupLasso(groupLasso)
                .withSeed(seed).withHeldOut(heldOut).withPatience(patience);
    }
}
