package io.steergate.retraining;

import io.steergate.engine.steering.ActivationCollector.Pooling;
import io.steergate.engine.training.TrainingSettings;

/**
 * What a job trains with, defaults filled in; stored as the job's hyperparameters_json. steps, learningRate, l1,
 * groupLasso, heldOut and patience drive LinEAS only; seed and pooling drive every method (seed: the count-equalizing
 * subsample, LinEAS's batch shuffle and held-out split; pooling: {@link Pooling#wireName()}). Jobs stored before
 * heldOut and patience existed read them as 0 (no split), before pooling existed as null (mean), before tokenGates
 * existed as false. tokenGates: the fitted maps get DSAS token gates from the same prompts ({@link Fitter}). batchSize:
 * LinEAS's source prompts per step (the closed-form methods' prompts per forward); null in jobs stored before it
 * existed, which trained with the default.
 */
public record Hyperparameters(int steps, double learningRate, double l1, double groupLasso, long seed, double heldOut,
        int patience, String pooling, boolean tokenGates, Integer batchSize) {

    /** A request's fields, each absent one taken from {@code defaults}. */
    static Hyperparameters of(TrainingRequest body, TrainingSettings defaults) {
        return new Hyperparameters(body.steps() == null ? defaults.steps() : body.steps(),
                body.learningRate() == null ? defaults.learningRate() : body.learningRate(),
                body.l1() == null ? defaults.l1() : body.l1(),
                body.groupLasso() == null ? defaults.groupLasso() : body.groupLasso(),
                body.seed() == null ? defaults.seed() : body.seed(),
                body.heldOut() == null ? defaults.heldOut() : body.heldOut(),
                body.patience() == null ? defaults.patience() : body.patience(),
                body.pooling() == null ? defaults.pooling().wireName() : body.pooling(),
                Boolean.TRUE.equals(body.tokenGates()),
                body.batchSize() == null ? defaults.batchSize() : body.batchSize());
    }

    /**
     * These values over {@code defaults}, which supply what a job cannot set (target collection, the group-lasso
     * metric, the loss sites) and the batch size of a job stored before it could be set.
     *
     * @throws IllegalArgumentException "pooling: must be mean or last, got '...'" for a pooling no method knows
     */
    TrainingSettings settings(TrainingSettings defaults) {
        return defaults.withSteps(steps).withLearningRate(learningRate).withL1(l1).withGroupLasso(groupLasso)
                .withSeed(seed).withHeldOut(heldOut).withPatience(patience)
                .withBatchSize(batchSize == null ? defaults.batchSize() : batchSize)
                .withPooling(pooling == null ? Pooling.MEAN : Pooling.parse(pooling));
    }
}
