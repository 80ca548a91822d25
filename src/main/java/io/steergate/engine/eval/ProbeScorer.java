package io.steergate.engine.eval;

import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.HookSite;
import java.util.List;

/**
 * A {@link Scorer} that reads the served model's own activations: the text is run through the model (no steering), its
 * activations at one site are mean-pooled over tokens as the estimators pool them ({@link ActivationCollector}), and a
 * {@link LinearProbe} gives the probability that the text carries the concept. Trained from an intervention's prompt
 * sets: the source set (the behaviour to remove) is the concept, the target set is not. Unlike a word list it also
 * scores a text that says the concept in words the list lacks, at the cost of one forward pass up to the site's layer.
 */
public final class ProbeScorer implements Scorer {

    private final ActivationCollector activations;
    private final HookSite site;
    private final LinearProbe probe;

    public ProbeScorer(LlamaModel model, HookSite site, LinearProbe probe) {
        if (site.width(model.config()) != probe.width()) {
            throw new IllegalArgumentException("probe width " + probe.width() + " does not fit site " + site.name()
                    + " of width " + site.width(model.config()));
        }
        this.activations = new ActivationCollector(model, 16);
        this.site = site;
        this.probe = probe;
    }

    /** Fits a probe at {@code site} separating {@code concept} texts from {@code other} texts. */
    public static ProbeScorer train(LlamaModel model, HookSite site, List<String> concept, List<String> other,
            LinearProbe.Options options) {
        ActivationCollector collector = new ActivationCollector(model, 16);
        float[][] positive = collector.collect(concept, List.of(site), null).get(site);
        float[][] negative = collector.collect(other, List.of(site), null).get(site);
        return new ProbeScorer(model, site, LinearProbe.fit(positive, negative, options));
    }

    public HookSite site() {
        return site;
    }

    public LinearProbe probe() {
        return probe;
    }

    @Override
    public double score(String text) {
        return scoreAll(List.of(text)).get(0);
    }

    /** Scores many texts with batched forwards. */
    public List<Double> scoreAll(List<String> texts) {
        float[][] rows = activations.collect(texts, List.of(site), null).get(site);
        return java.util.Arrays.stream(rows).map(probe::probability).toList();
    }
}
