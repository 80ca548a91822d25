package io.steergate.engine.training;

import io.steergate.engine.steering.ActivationCollector.Pooling;
import io.steergate.engine.steering.HookSite;
import java.util.List;
import java.util.Objects;

/**
 * How a causal fit runs.
 *
 * @param name the intervention's name
 * @param concept what it steers (free text)
 * @param sites where to fit maps; fitted in forward order whatever the order given
 * @param seed seed of the subsample that equalizes source and target counts (java.util.Random)
 * @param targetsThroughEarlierMaps false (default): target prompts run clean; true: they pass through the maps
 *     fitted so far, as the reference code's "incr" mode does (docs/steering-methods.md 6: more overshoot that way)
 * @param batchSize prompts per forward while collecting
 * @param pooling how each prompt's activations are pooled into a sample ({@link TrainingSettings#pooling()})
 */
public record FitOptions(String name, String concept, List<HookSite> sites, long seed,
        boolean targetsThroughEarlierMaps, int batchSize, Pooling pooling) {

    public FitOptions {
        Objects.requireNonNull(name, "name");
        concept = concept == null ? "" : concept;
        sites = List.copyOf(sites);
        if (sites.isEmpty()) {
            throw new IllegalArgumentException("sites must not be empty");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
        }
        Objects.requireNonNull(pooling, "pooling");
    }

    /** With {@link TrainingSettings#DEFAULTS}. */
    public static FitOptions of(String name, String concept, List<HookSite> sites) {
        return of(name, concept, sites, TrainingSettings.DEFAULTS);
    }

    /** With the seed, targetsThroughEarlierMaps, batch size and pooling of {@code settings}. */
    public static FitOptions of(String name, String concept, List<HookSite> sites, TrainingSettings settings) {
        return new FitOptions(name, concept, sites, settings.seed(), settings.targetsThroughEarlierMaps(),
                settings.batchSize(), settings.pooling());
    }

    public FitOptions withSeed(long seed) {
        return new FitOptions(name, concept, sites, seed, targetsThroughEarlierMaps, batchSize, pooling);
    }

    public FitOptions withTargetsThroughEarlierMaps(boolean through) {
        return new FitOptions(name, concept, sites, seed, through, batchSize, pooling);
    }

    public FitOptions withBatchSize(int batchSize) {
        return new FitOptions(name, concept, sites, seed, targetsThroughEarlierMaps, batchSize, pooling);
    }

    public FitOptions withPooling(Pooling pooling) {
        return new FitOptions(name, concept, sites, seed, targetsThroughEarlierMaps, batchSize, pooling);
    }
}
