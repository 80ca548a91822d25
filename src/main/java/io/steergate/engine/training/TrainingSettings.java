package io.steergate.engine.training;

import io.steergate.engine.steering.ActivationCollector.Pooling;
import java.util.Objects;

/**
 * The hyperparameters of a training, every method's in one record; each method reads those it uses (LinEAS all of
 * them but targetsThroughEarlierMaps, through {@link LineasOptions#settings()}; the closed-form methods the seed, the
 * batch size, targetsThroughEarlierMaps and the pooling). {@link #DEFAULTS} is the one place the defaults are written
 * (docs/steering-methods.md 5, chosen for stories260K).
 *
 * @param steps LinEAS Adam steps, at least 1
 * @param learningRate LinEAS peak learning rate; a cosine schedule anneals it to learningRate·1e-3 over the steps
 * @param batchSize LinEAS source prompts per step, at least {@link LineasOptions#MIN_BATCH}, capped at the number of
 *     source prompts; prompts per forward while a closed-form method collects
 * @param l1 LinEAS weight of the L1 proximal step toward the identity (neuron selection), 0 = off
 * @param groupLasso LinEAS weight of the group-lasso proximal step, one group per site for ω and one for β (site
 *     selection), 0 = off
 * @param seed seed of the count-equalizing subsample (closed-form methods) or, for LinEAS, of the shuffle that orders
 *     the source prompts into batches and of the held-out split (java.util.Random, one instance each)
 * @param targetsThroughEarlierMaps closed-form methods: target prompts pass through the maps fitted so far
 * @param heldOut LinEAS: share of the source and of the target prompts held out of training to measure held-out W1
 *     (seeded by {@code seed}), in [0, 0.5]; their W1 is checked every {@link Lineas#HELD_OUT_EVERY} steps; 0 = no
 *     split (every prompt trains)
 * @param patience LinEAS with a held-out split: stop once held-out W1 has not improved for this many steps and keep
 *     the maps of its best check (the identity if no check beat it); 0 = no early stopping (run every step, keep the
 *     last maps)
 * @param pooling every method: how each prompt's activations are pooled into the sample it estimates from; MEAN
 *     over its tokens (as published), LAST token (for prompts cut just before the model chooses, EVALUATION.md);
 *     LinEAS pools every activation of the loss and the checks so: the targets, the training batches' post-map
 *     outputs, the W1 checks
 * @param proxMetric LinEAS: the metric of the group-lasso step, {@link Proximal.Metric#LR} as published
 * @param lastSiteLoss LinEAS: the loss, its targets and the W1 checks at the last site only, so the earlier sites'
 *     maps train through their effect there alone (every site's map still trains); false = at every site, as published
 */
public record TrainingSettings(int steps, double learningRate, int batchSize, double l1, double groupLasso, long seed,
        boolean targetsThroughEarlierMaps, double heldOut, int patience, Pooling pooling, Proximal.Metric proxMetric,
        boolean lastSiteLoss) {

    public static final TrainingSettings DEFAULTS = new TrainingSettings(300, 1e-2, 32, 0, 0, 0L, false);
    /** The most steps a training may ask for: a bound on how long one job can hold a trainer. */
    public static final int MAX_STEPS = 100_000;
    /**
     * The most prompts a step may ask for: one forward holds this many prompts' activations at once. Above every
     * shipped fitting set (192-551 prompts), so each can train on the full batch.
     */
    public static final int MAX_BATCH = 1024;
    /** The largest share of the prompts a held-out split may take. */
    public static final double MAX_HELD_OUT = 0.5;

    public TrainingSettings {
        Objects.requireNonNull(pooling, "pooling");
        Objects.requireNonNull(proxMetric, "proxMetric");
    }

    /** Without a held-out split, mean-pooled. */
    public TrainingSettings(int steps, double learningRate, int batchSize, double l1, double groupLasso, long seed,
            boolean targetsThroughEarlierMaps) {
        this(steps, learningRate, batchSize, l1, groupLasso, seed, targetsThroughEarlierMaps, 0, 0, Pooling.MEAN,
                Proximal.Metric.LR, false);
    }

    public TrainingSettings withSteps(int steps) {
        return new TrainingSettings(steps, learningRate, batchSize, l1, groupLasso, seed, targetsThroughEarlierMaps,
                heldOut, patience, pooling, proxMetric, lastSiteLoss);
    }

    public TrainingSettings withLearningRate(double learningRate) {
        return new TrainingSettings(steps, learningRate, batchSize, l1, groupLasso, seed, targetsThroughEarlierMaps,
                heldOut, patience, pooling, proxMetric, lastSiteLoss);
    }

    public TrainingSettings withBatchSize(int batchSize) {
        return new TrainingSettings(steps, learningRate, batchSize, l1, groupLasso, seed, targetsThroughEarlierMaps,
                heldOut, patience, pooling, proxMetric, lastSiteLoss);
    }

    public TrainingSettings withL1(double l1) {
        return new TrainingSettings(steps, learningRate, batchSize, l1, groupLasso, seed, targetsThroughEarlierMaps,
                heldOut, patience, pooling, proxMetric, lastSiteLoss);
    }

    public TrainingSettings withGroupLasso(double groupLasso) {
        return new TrainingSettings(steps, learningRate, batchSize, l1, groupLasso, seed, targetsThroughEarlierMaps,
                heldOut, patience, pooling, proxMetric, lastSiteLoss);
    }

    public TrainingSettings withSeed(long seed) {
        return new TrainingSettings(steps, learningRate, batchSize, l1, groupLasso, seed, targetsThroughEarlierMaps,
                heldOut, patience, pooling, proxMetric, lastSiteLoss);
    }

    public TrainingSettings withTargetsThroughEarlierMaps(boolean through) {
        return new TrainingSettings(steps, learningRate, batchSize, l1, groupLasso, seed, through, heldOut, patience,
                pooling, proxMetric, lastSiteLoss);
    }

    public TrainingSettings withHeldOut(double heldOut) {
        return new TrainingSettings(steps, learningRate, batchSize, l1, groupLasso, seed, targetsThroughEarlierMaps,
                heldOut, patience, pooling, proxMetric, lastSiteLoss);
    }

    public TrainingSettings withPatience(int patience) {
        return new TrainingSettings(steps, learningRate, batchSize, l1, groupLasso, seed, targetsThroughEarlierMaps,
                heldOut, patience, pooling, proxMetric, lastSiteLoss);
    }

    public TrainingSettings withPooling(Pooling pooling) {
        return new TrainingSettings(steps, learningRate, batchSize, l1, groupLasso, seed, targetsThroughEarlierMaps,
                heldOut, patience, pooling, proxMetric, lastSiteLoss);
    }

    public TrainingSettings withProxMetric(Proximal.Metric proxMetric) {
        return new TrainingSettings(steps, learningRate, batchSize, l1, groupLasso, seed, targetsThroughEarlierMaps,
                heldOut, patience, pooling, proxMetric, lastSiteLoss);
    }

    public TrainingSettings withLastSiteLoss(boolean lastSiteLoss) {
        return new TrainingSettings(steps, learningRate, batchSize, l1, groupLasso, seed, targetsThroughEarlierMaps,
                heldOut, patience, pooling, proxMetric, lastSiteLoss);
    }

    /**
     * The bounds a training request must keep, whatever its method.
     *
     * @throws IllegalArgumentException naming the first field out of bounds ("steps: must be in [1, 100000], got 0")
     */
    public void checkBounds() {
        if (steps < 1 || steps > MAX_STEPS) {
            throw new IllegalArgumentException("steps: must be in [1, " + MAX_STEPS + "], got " + steps);
        }
        if (batchSize < LineasOptions.MIN_BATCH || batchSize > MAX_BATCH) {
            throw new IllegalArgumentException("batchSize: must be in [" + LineasOptions.MIN_BATCH + ", " + MAX_BATCH
                    + "], got " + batchSize);
        }
        if (!(learningRate > 0 && learningRate <= 1)) {
            throw new IllegalArgumentException("learningRate: must be in (0, 1], got " + learningRate);
        }
        if (!(l1 >= 0 && l1 <= 1)) {
            throw new IllegalArgumentException("l1: must be in [0, 1], got " + l1);
        }
        if (!(groupLasso >= 0 && groupLasso <= 1)) {
            throw new IllegalArgumentException("groupLasso: must be in [0, 1], got " + groupLasso);
        }
        if (!(heldOut >= 0 && heldOut <= MAX_HELD_OUT)) {
            throw new IllegalArgumentException("heldOut: must be in [0, " + MAX_HELD_OUT + "], got " + heldOut);
        }
        if (patience < 0 || patience > MAX_STEPS) {
            throw new IllegalArgumentException("patience: must be in [0, " + MAX_STEPS + "], got " + patience);
        }
    }
}
