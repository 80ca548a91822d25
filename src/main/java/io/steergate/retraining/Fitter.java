package io.steergate.retraining;

import io.steergate.engine.eval.Wasserstein;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.SiteSpec;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.engine.training.Fit;
import io.steergate.engine.training.FitOptions;
import io.steergate.engine.training.LinearAct;
import io.steergate.engine.training.Lineas;
import io.steergate.engine.training.LineasFit;
import io.steergate.engine.training.LineasOptions;
import io.steergate.engine.training.MeanShift;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Fits a claimed job's intervention with its method on the stored prompt sets, then measures it: the mean over sites
 * of the per-neuron W1 distance between source and target activations, before and after the maps (strength 1).
 */
final class Fitter {

    /** The fitted maps and what the job records about them; {@code cancelled} when a later attempt took the job. */
    record Fitted(Intervention intervention, Map<String, Object> metrics, boolean cancelled) {}

    private static final int BATCH = 32;

    private Fitter() {
    }

    /**
     * @throws IllegalArgumentException when the job does not fit the model (sites, prompt counts)
     */
    static Fitted fit(LlamaModel model, Claim job, Consumer<Lineas.Progress> progress, BooleanSupplier cancel) {
        List<HookSite> sites = SiteSpec.parse(job.sites(), model.config().nLayers());
        Hyperparameters hp = job.hyperparameters();
        String concept = job.description() == null ? "" : job.description();
        List<String> source = withinContext(model, job.source());
        List<String> target = withinContext(model, job.target());
        Map<String, Object> metrics = new LinkedHashMap<>();
        long start = System.nanoTime();
        Intervention intervention;
        boolean cancelled = false;
        if (job.method().equals("lineas")) {
            LineasOptions options = new LineasOptions(job.intervention(), concept, sites, hp.steps(), hp.learningRate(),
                    BATCH, hp.l1(), hp.groupLasso(), hp.seed());
            LineasFit fit = Lineas.train(model, source, target, options, progress, cancel);
            intervention = fit.intervention();
            cancelled = fit.cancelled();
            metrics.put("stepsRun", fit.stepsRun());
            metrics.put("initialLoss", finite(fit.initialLoss()));
            metrics.put("finalLoss", finite(fit.finalLoss()));
            metrics.put("skippedSteps", fit.skippedSteps());
        } else {
            FitOptions options = FitOptions.of(job.intervention(), concept, sites).withSeed(hp.seed());
            Fit fit = job.method().equals("linear-act") ? LinearAct.fit(model, source, target, options)
                    : MeanShift.fit(model, source, target, options);
            intervention = fit.intervention();
            metrics.put("samplesPerSide", fit.samplesPerSide());
        }
        metrics.put("trainMillis", (System.nanoTime() - start) / 1_000_000);
        metrics.put("sites", intervention.maps().size());
        metrics.put("sourcePrompts", source.size());
        metrics.put("targetPrompts", target.size());
        if (!cancelled) {
            transport(model, source, target, intervention, metrics);
        }
        return new Fitted(intervention, metrics, cancelled);
    }

    // W1 on the training prompts: cheap (three collection passes), and a map that does not lower it is suspect.
    private static void transport(LlamaModel model, List<String> source, List<String> target, Intervention intervention,
            Map<String, Object> metrics) {
        ActivationCollector collector = new ActivationCollector(model, BATCH);
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
