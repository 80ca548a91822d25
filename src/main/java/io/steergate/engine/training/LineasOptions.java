package io.steergate.engine.training;

import io.steergate.engine.steering.HookSite;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * How a LinEAS training runs (docs/steering-methods.md 3.3; defaults in {@link TrainingSettings#DEFAULTS}).
 *
 * @param name the intervention's name
 * @param concept what it steers (free text)
 * @param sites where to train maps, also where the loss is taken; kept in forward order, duplicates dropped
 * @param settings the hyperparameters: the LinEAS fields of {@link TrainingSettings} (documented there; its
 *     targetsThroughEarlierMaps is not read), checked here against what the engine can run
 */
public record LineasOptions(String name, String concept, List<HookSite> sites, TrainingSettings settings) {

    /** The fewest source prompts a step may sort (the reference refuses smaller batches). */
    public static final int MIN_BATCH = 4;

    public LineasOptions {
        Objects.requireNonNull(name, "name");
        concept = concept == null ? "" : concept;
        sites = List.copyOf(new java.util.TreeSet<>(sites));
        if (sites.isEmpty()) {
            throw new IllegalArgumentException("sites must not be empty");
        }
        Objects.requireNonNull(settings, "settings");
        int steps = settings.steps();
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be at least 1, got " + steps);
        }
        double learningRate = settings.learningRate();
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be positive and finite, got " + learningRate);
        }
        int batchSize = settings.batchSize();
        if (batchSize < MIN_BATCH) {
            throw new IllegalArgumentException("batchSize must be at least " + MIN_BATCH + ", got " + batchSize);
        }
        double l1 = settings.l1();
        double groupLasso = settings.groupLasso();
        if (!(l1 >= 0) || !(groupLasso >= 0) || !Double.isFinite(l1) || !Double.isFinite(groupLasso)) {
            throw new IllegalArgumentException("l1 and groupLasso must be finite and >= 0, got " + l1 + " and "
                    + groupLasso);
        }
        double heldOut = settings.heldOut();
        if (!(heldOut >= 0 && heldOut <= TrainingSettings.MAX_HELD_OUT)) {
            throw new IllegalArgumentException("heldOut must be in [0, " + TrainingSettings.MAX_HELD_OUT + "], got "
                    + heldOut);
        }
        int patience = settings.patience();
        if (patience < 0) {
            throw new IllegalArgumentException("patience must be >= 0, got " + patience);
        }
    }

    /** Where the loss, its targets and the W1 checks are taken: every site (the paper), or the last one only. */
    public List<HookSite> lossSites() {
        return settings.lastSiteLoss() ? List.of(sites.get(sites.size() - 1)) : sites;
    }

    /** With {@link TrainingSettings#DEFAULTS}. */
    public static LineasOptions of(String name, String concept, List<HookSite> sites) {
        return of(name, concept, sites, TrainingSettings.DEFAULTS);
    }

    /** With the LinEAS fields of {@code settings}. */
    public static LineasOptions of(String name, String concept, List<HookSite> sites, TrainingSettings settings) {
        return new LineasOptions(name, concept, sites, settings);
    }

    /**
     * A copy with the settings {@code change} makes of these, e.g. {@code with(s -> s.withSteps(12).withSeed(3))};
     * checked again as any new options are.
     */
    public LineasOptions with(UnaryOperator<TrainingSettings> change) {
        return new LineasOptions(name, concept, sites, change.apply(settings));
    }
}
