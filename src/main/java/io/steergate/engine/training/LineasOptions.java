package io.steergate.engine.training;

import io.steergate.engine.steering.ActivationCollector.Pooling;
import io.steergate.engine.steering.HookSite;
import java.util.List;
import java.util.Objects;

/**
 * How a LinEAS training runs (docs/steering-methods.md 3.3; defaults in {@link TrainingSettings#DEFAULTS}).
 *
 * @param name the intervention's name
 * @param concept what it steers (free text)
 * @param sites where to train maps, also where the loss is taken; kept in forward order, duplicates dropped
 * @param steps Adam steps, at least 1
 * @param learningRate the peak learning rate; a cosine schedule anneals it to learningRate·1e-3 over the steps
 * @param batchSize source prompts per step, at least {@link #MIN_BATCH}; capped at the number of source prompts
 * @param l1 weight of the L1 proximal step toward the identity (neuron selection), 0 = off
 * @param groupLasso weight of the group-lasso proximal step, one group per site for ω and one for β (site
 *     selection), 0 = off
 * @param seed seed of the shuffle that orders the source prompts into batches and of the held-out split
 *     (java.util.Random, one instance each)
 * @param heldOut share of the source and of the target prompts held out of training, in [0, 0.5]; their W1 is
 *     checked every {@link Lineas#HELD_OUT_EVERY} steps; 0 = no split (every prompt trains)
 * @param patience with a held-out split: stop once held-out W1 has not improved for this many steps and return the
 *     maps of its best check (the identity if no check beat it); 0 = run every step and return the last maps
 * @param pooling how every pooled activation of the loss and the checks is taken: the targets, the training batches'
 *     post-map outputs, the W1 checks ({@link TrainingSettings#pooling()}; MEAN as the paper trains)
 * @param proxMetric the metric of the group-lasso step ({@link Proximal.Metric}; LR as the paper takes it)
 * @param lastSiteLoss the loss, its targets and the W1 checks at the last site only, so the earlier sites' maps train
 *     through their effect there alone; false = at every site, as the paper trains ({@link TrainingSettings#lastSiteLoss})
 */
public record LineasOptions(String name, String concept, List<HookSite> sites, int steps, double learningRate,
        int batchSize, double l1, double groupLasso, long seed, double heldOut, int patience, Pooling pooling,
        Proximal.Metric proxMetric, boolean lastSiteLoss) {

    /** The fewest source prompts a step may sort (the reference refuses smaller batches). */
    public static final int MIN_BATCH = 4;

    public LineasOptions {
        Objects.requireNonNull(name, "name");
        concept = concept == null ? "" : concept;
        sites = List.copyOf(new java.util.TreeSet<>(sites));
        if (sites.isEmpty()) {
            throw new IllegalArgumentException("sites must not be empty");
        }
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be at least 1, got " + steps);
        }
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be positive and finite, got " + learningRate);
        }
        if (batchSize < MIN_BATCH) {
            throw new IllegalArgumentException("batchSize must be at least " + MIN_BATCH + ", got " + batchSize);
        }
        if (!(l1 >= 0) || !(groupLasso >= 0) || !Double.isFinite(l1) || !Double.isFinite(groupLasso)) {
            throw new IllegalArgumentException("l1 and groupLasso must be finite and >= 0, got " + l1 + " and "
                    + groupLasso);
        }
        if (!(heldOut >= 0 && heldOut <= TrainingSettings.MAX_HELD_OUT)) {
            throw new IllegalArgumentException("heldOut must be in [0, " + TrainingSettings.MAX_HELD_OUT + "], got "
                    + heldOut);
        }
        if (patience < 0) {
            throw new IllegalArgumentException("patience must be >= 0, got " + patience);
        }
        Objects.requireNonNull(pooling, "pooling");
        Objects.requireNonNull(proxMetric, "proxMetric");
    }

    /** Where the loss, its targets and the W1 checks are taken: every site (the paper), or the last one only. */
    public List<HookSite> lossSites() {
        return lastSiteLoss ? List.of(sites.get(sites.size() - 1)) : sites;
    }

    /** Without a held-out split, mean-pooled. */
    public LineasOptions(String name, String concept, List<HookSite> sites, int steps, double learningRate,
            int batchSize, double l1, double groupLasso, long seed) {
        this(name, concept, sites, steps, learningRate, batchSize, l1, groupLasso, seed, 0, 0, Pooling.MEAN,
                Proximal.Metric.LR, false);
    }

    /** With {@link TrainingSettings#DEFAULTS}. */
    public static LineasOptions of(String name, String concept, List<HookSite> sites) {
        return of(name, concept, sites, TrainingSettings.DEFAULTS);
    }

    /** With the LinEAS fields of {@code settings}. */
    public static LineasOptions of(String name, String concept, List<HookSite> sites, TrainingSettings settings) {
        return new LineasOptions(name, concept, sites, settings.steps(), settings.learningRate(), settings.batchSize(),
                settings.l1(), settings.groupLasso(), settings.seed(), settings.heldOut(), settings.patience(),
                settings.pooling(), settings.proxMetric(), settings.lastSiteLoss());
    }

    public LineasOptions withSteps(int steps) {
        return new LineasOptions(name, concept, sites, steps, learningRate, batchSize, l1, groupLasso, seed, heldOut,
                patience, pooling, proxMetric, lastSiteLoss);
    }

    public LineasOptions withLearningRate(double learningRate) {
        return new LineasOptions(name, concept, sites, steps, learningRate, batchSize, l1, groupLasso, seed, heldOut,
                patience, pooling, proxMetric, lastSiteLoss);
    }

    public LineasOptions withBatchSize(int batchSize) {
        return new LineasOptions(name, concept, sites, steps, learningRate, batchSize, l1, groupLasso, seed, heldOut,
                patience, pooling, proxMetric, lastSiteLoss);
    }

    public LineasOptions withL1(double l1) {
        return new LineasOptions(name, concept, sites, steps, learningRate, batchSize, l1, groupLasso, seed, heldOut,
                patience, pooling, proxMetric, lastSiteLoss);
    }

    public LineasOptions withGroupLasso(double groupLasso) {
        return new LineasOptions(name, concept, sites, steps, learningRate, batchSize, l1, groupLasso, seed, heldOut,
                patience, pooling, proxMetric, lastSiteLoss);
    }

    public LineasOptions withSeed(long seed) {
        return new LineasOptions(name, concept, sites, steps, learningRate, batchSize, l1, groupLasso, seed, heldOut,
                patience, pooling, proxMetric, lastSiteLoss);
    }

    public LineasOptions withHeldOut(double heldOut) {
        return new LineasOptions(name, concept, sites, steps, learningRate, batchSize, l1, groupLasso, seed, heldOut,
                patience, pooling, proxMetric, lastSiteLoss);
    }

    public LineasOptions withPatience(int patience) {
        return new LineasOptions(name, concept, sites, steps, learningRate, batchSize, l1, groupLasso, seed, heldOut,
                patience, pooling, proxMetric, lastSiteLoss);
    }

    public LineasOptions withPooling(Pooling pooling) {
        return new LineasOptions(name, concept, sites, steps, learningRate, batchSize, l1, groupLasso, seed, heldOut,
                patience, pooling, proxMetric, lastSiteLoss);
    }

    public LineasOptions withProxMetric(Proximal.Metric proxMetric) {
        return new LineasOptions(name, concept, sites, steps, learningRate, batchSize, l1, groupLasso, seed, heldOut,
                patience, pooling, proxMetric, lastSiteLoss);
    }

    public LineasOptions withLastSiteLoss(boolean lastSiteLoss) {
        return new LineasOptions(name, concept, sites, steps, learningRate, batchSize, l1, groupLasso, seed, heldOut,
                patience, pooling, proxMetric, lastSiteLoss);
    }
}
