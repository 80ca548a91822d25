package io.steergate.engine.steering;

import io.steergate.engine.model.HookPoint;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The site syntax of {@code steer fit --sites} and of a retraining request's {@code sites}: comma-separated items,
 * each a hook point for every layer ({@code resid}, {@code attn_norm}), a site ({@code layers.3.resid}) or a layer
 * range ({@code layers.0-2.resid}).
 */
public final class SiteSpec {

    /**
     * The sites every method fits when none are named: the residual stream after each layer. On stories260K it moved
     * concepts the most per unit of perplexity for all three methods (EVALUATION.md); the papers' own defaults are
     * the normalisation outputs ({@code attn_norm,mlp_norm} here), which cost less perplexity and steer less.
     */
    public static final String DEFAULT = "resid";


    private static final Pattern LAYERS = Pattern.compile("layers\\.(\\d{1,6})(?:-(\\d{1,6}))?\\.([a-z_]+)");

    private SiteSpec() {
    }

    /**
     * The sites {@code spec} names in a model of {@code nLayers} layers, in forward order without duplicates.
     *
     * @throws IllegalArgumentException naming the bad item
     */
    public static List<HookSite> parse(String spec, int nLayers) {
        TreeSet<HookSite> sites = new TreeSet<>();
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("no sites given");
        }
        for (String raw : spec.split(",")) {
            String item = raw.strip();
            Matcher m = LAYERS.matcher(item);
            int from;
            int to;
            HookPoint point;
            try {
                if (m.matches()) {
                    from = Integer.parseInt(m.group(1));
                    to = m.group(2) == null ? from : Integer.parseInt(m.group(2));
                    point = HookPoint.parse(m.group(3));
                } else {
                    from = 0;
                    to = nLayers - 1;
                    point = HookPoint.parse(item);
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bad site '" + item + "': expected a point (e.g. resid), "
                        + "layers.<i>.<point> or layers.<i>-<j>.<point>; " + e.getMessage());
            }
            if (from > to || to >= nLayers) {
                throw new IllegalArgumentException("bad site '" + item + "': layers must be in [0, " + (nLayers - 1)
                        + "] and ascending");
            }
            for (int l = from; l <= to; l++) {
                sites.add(new HookSite(l, point));
            }
        }
        return new ArrayList<>(sites);
    }
}
