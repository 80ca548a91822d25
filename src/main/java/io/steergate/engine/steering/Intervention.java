package io.steergate.engine.steering;

import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaConfig;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.ToIntFunction;

/**
 * A stored intervention: per-site affine maps for one model, with where they came from. Persisted by
 * {@link InterventionFile}; composed per request by {@link SteeringPlan}.
 *
 * @param name the intervention's name (e.g. {@code no-dogs})
 * @param method how it was made: {@link #LINEAR_ACT}, {@link #MEAN_SHIFT}, {@link #LINEAS} or another string
 * @param modelFingerprint {@code sha256:<hex>} of the weights it was fitted on
 * @param concept what it steers toward or away from (free text, may be empty)
 * @param metadata further string metadata (training data hashes, hyperparameters as JSON, ...); keys must not be
 *     the reserved ones of the file format
 * @param maps per site, ordered by layer then point in forward order
 */
public record Intervention(String name, String method, String modelFingerprint, String concept,
        Map<String, String> metadata, SortedMap<HookSite, AffineMap> maps) {

    // The method spellings of the registered methods (io.steergate.engine.training.InterventionMethods, which maps
    // them to their wire names); stored in map files, so never renamed.
    public static final String LINEAR_ACT = "LINEAR_ACT";
    public static final String MEAN_SHIFT = "MEAN_SHIFT";
    public static final String LINEAS = "LINEAS";

    public Intervention {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(modelFingerprint, "modelFingerprint");
        concept = concept == null ? "" : concept;
        metadata = Collections.unmodifiableSortedMap(new TreeMap<>(metadata == null ? Map.of() : metadata));
        for (String key : metadata.keySet()) {
            if (InterventionFile.RESERVED_KEYS.contains(key)) {
                throw new IllegalArgumentException("metadata key '" + key + "' is reserved by the file format");
            }
        }
        Objects.requireNonNull(maps, "maps");
        maps = Collections.unmodifiableSortedMap(new TreeMap<>(maps));
        for (Map.Entry<HookSite, AffineMap> e : maps.entrySet()) {
            Objects.requireNonNull(e.getValue(), () -> "map of " + e.getKey());
        }
    }

    /**
     * This intervention at strength {@code lambda}, stored as strength 1 (see {@link AffineMap#scaled}). A measured
     * strength above 1 thus becomes a map a policy can apply at strengths in [0, 1]; the metadata records it.
     */
    public Intervention scaled(double lambda) {
        if (!(lambda > 0 && lambda <= SteeringPlan.MAX_STRENGTH)) {
            throw new IllegalArgumentException("scale must be in (0, " + SteeringPlan.MAX_STRENGTH + "], got " + lambda);
        }
        TreeMap<HookSite, AffineMap> out = new TreeMap<>();
        maps.forEach((site, map) -> out.put(site, map.scaled(lambda)));
        Map<String, String> meta = new TreeMap<>(metadata);
        double previous = Double.parseDouble(meta.getOrDefault("scaled", "1"));
        meta.put("scaled", String.valueOf(previous * lambda));
        return new Intervention(name, method, modelFingerprint, concept, meta, out);
    }

    /**
     * Refuses this intervention for a model it was not made for.
     *
     * @param config the model's hyperparameters
     * @param fingerprint the model's fingerprint ({@code sha256:<hex>})
     * @throws IllegalArgumentException naming the first mismatch: fingerprint (both named), a site's layer, a width
     */
    public void checkCompatible(LlamaConfig config, String fingerprint) {
        checkCompatible(config.nLayers(), point -> point.width(config), fingerprint);
    }

    /**
     * As {@link #checkCompatible(LlamaConfig, String)}, for callers that know the model's depth and each point's
     * width but not its whole config (the registry checks uploads against the models workers registered).
     *
     * @param widthOf the model's width at each point ({@link HookPoint#width})
     */
    public void checkCompatible(int layers, ToIntFunction<HookPoint> widthOf, String fingerprint) {
        if (!modelFingerprint.equals(fingerprint)) {
            throw new IllegalArgumentException("intervention '" + name + "' was made for model " + modelFingerprint
                    + ", not for model " + fingerprint);
        }
        for (Map.Entry<HookSite, AffineMap> e : maps.entrySet()) {
            HookSite site = e.getKey();
            if (site.layer() >= layers) {
                throw new IllegalArgumentException("intervention '" + name + "' has site " + site.name()
                        + " but the model has " + layers + " layers");
            }
            int width = widthOf.applyAsInt(site.point());
            if (e.getValue().width() != width) {
                throw new IllegalArgumentException("intervention '" + name + "' has width " + e.getValue().width()
                        + " at site " + site.name() + " but the model's width there is " + width);
            }
        }
    }
}
