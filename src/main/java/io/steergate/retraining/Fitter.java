package io.steergate.retraining;

import io.steergate.engine.eval.Wasserstein;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.SiteSpec;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.engine.training.InterventionMethod;
import io.steergate.engine.training.InterventionMethods;
import io.steergate.engine.training.Lineas;
import io.steergate.engine.training.TrainingSettings;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Fits a claimed job's intervention with its method on the stored prompt sets, then measures it: the mean over sites
 * of the per-neuron W1 distance between source and target activations (pooled as the job's pooling says), before and
 * after the maps (strength 1).
 */
final class Fitter {

    /** The fitted maps and what the job records about them; {@code cancelled} when a later attempt took the job. */
    record Fitted(Intervention intervention, Map<String, Object> metrics, boolean cancelled) {}

    private Fitter() {
    }

    /**
     * @throws IllegalArgumentException when the job does not fit the model (sites, prompt counts) or names no
     *     registered method
     */
    static Fitted fit(LlamaModel model, Claim job, Consumer<Lineas.Progress> progress, BooleanSupplier cancel) {
        InterventionMethod method = InterventionMethods.byWireName(job.method());
        List<HookSite> sites = SiteSpec.parse(job.sites(), model.config().nLayers());
        String concept = job.description() == null ? "" : job.description();
        List<String> source = withinContext(model, job.source());
        List<String> target = withinContext(model, job.target());
        TrainingSettings settings = job.hyperparameters().settings(method.defaults());
        long start = System.nanoTime();
        InterventionMethod.Trained trained = method.fit(model, source, target,
                new InterventionMethod.Request(job.intervention(), concept, sites, settings), progress, cancel);
        Map<String, Object> metrics = new LinkedHashMap<>(trained.metrics());
        metrics.put("trainMillis", (System.nanoTime() - start) / 1_000_000);
        metrics.put("sites", trained.intervention().maps().size());
        metrics.put("sourcePrompts", source.size());
        metrics.put("targetPrompts", target.size());
        if (!trained.cancelled()) {
            transport(model, source, target, trained.intervention(), settings, metrics);
        }
        return new Fitted(trained.intervention(), metrics, trained.cancelled());
    }

    // W1 on the training prompts, pooled as the fit pooled them: cheap (three collection passes), and a map that does
    // not lower it is suspect.
    private static void transport(LlamaModel model, List<String> source, List<String> target, Intervention intervention,
            TrainingSettings settings, Map<String, Object> metrics) {
        ActivationCollector collector = new ActivationCollector(model, settings.batchSize(), settings.pooling());
        var sites = intervention.maps().keySet();
        SortedMap<HookSite, float[][]> targetActivations = collector.collect(target, sites, null);
        SortedMap<HookSite, float[][]> before = collector.collect(source, sites, null);
        SortedMap<HookSite, float[][]> after = collector.collect(source, sites, SteeringPlan.of(intervention, 1.0));
        double w1Before = 0;
        double w1After = 0;
        for (HookSite site : sites) {
            w1Before += Wasserstein.siteMean(before.get(site), targetActivations.get(site));
            w1After += Wasserstein.siteMean(after.get(site), targetActivations.get(site));
        }
        metrics.put("w1Before", finite(w1Before / sites.size()));
        metrics.put("w1After", finite(w1After / sites.size()));
    }

    /**
     * The texts cut, before any is tokenized, to what the model can take: the engine keeps a prompt's first seqLen
     * tokens, so the tokenizer need not see more than a prefix that surely has that many
     * ({@link io.steergate.engine.model.Tokenizer#prefixOfAtLeast}); a stored text of any length then costs the
     * trainer the same few kilobytes.
     */
    static List<String> withinContext(LlamaModel model, List<String> texts) {
        int seqLen = model.config().seqLen();
        return texts.stream().map(text -> model.tokenizer().prefixOfAtLeast(text, seqLen)).toList();
    }

    private static Double finite(double x) {
        return Double.isFinite(x) ? x : null;
    }
}
