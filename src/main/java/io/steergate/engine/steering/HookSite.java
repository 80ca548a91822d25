package io.steergate.engine.steering;

import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaConfig;
import io.steergate.engine.model.SiteHook;
import java.util.Comparator;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One hook site, {@code layers.<i>.<point>} (docs/architecture.md 4.5). Sites order by layer, then point in
 * forward order: the order of the forward pass and of causal estimation.
 */
public record HookSite(int layer, HookPoint point) implements Comparable<HookSite> {

    private static final Pattern NAME = Pattern.compile("layers\\.(0|[1-9][0-9]{0,8})\\.([a-z_]+)");
    private static final Comparator<HookSite> FORWARD_ORDER =
            Comparator.comparingInt(HookSite::layer).thenComparing(HookSite::point);

    public HookSite {
        Objects.requireNonNull(point, "point");
        if (layer < 0) {
            throw new IllegalArgumentException("layer must not be negative, got " + layer);
        }
    }

    /** {@code layers.<layer>.<point>}, e.g. {@code layers.3.resid}. */
    public String name() {
        return "layers." + layer + "." + point.wireName();
    }

    /** The slot of this site in the model's hooks array. */
    public int index() {
        return SiteHook.index(layer, point);
    }

    /** The width a map here must have in a model of {@code config}: the point's width. */
    public int width(LlamaConfig config) {
        return point.width(config);
    }

    /** The site named {@code name}, e.g. {@code layers.3.resid}. */
    public static HookSite parse(String name) {
        Matcher m = NAME.matcher(name == null ? "" : name);
        if (!m.matches()) {
            throw new IllegalArgumentException("bad hook site '" + name + "': expected layers.<i>.<point>");
        }
        try {
            return new HookSite(Integer.parseInt(m.group(1)), HookPoint.parse(m.group(2)));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad hook site '" + name + "': " + e.getMessage(), e);
        }
    }

    @Override
    public int compareTo(HookSite other) {
        return FORWARD_ORDER.compare(this, other);
    }

    @Override
    public String toString() {
        return name();
    }
}
