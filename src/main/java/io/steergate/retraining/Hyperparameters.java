package io.steergate.retraining;

/**
 * What a job trains with, defaults filled in; stored as the job's hyperparameters_json. steps, learningRate, l1 and
 * groupLasso drive LinEAS only; seed drives every method (the count-equalizing subsample, LinEAS's batch shuffle).
 */
public record Hyperparameters(int steps, double learningRate, double l1, double groupLasso, long seed) {}
