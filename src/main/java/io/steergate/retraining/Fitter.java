package io.steergate.retraining;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.engine.eval.PromptSet;
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
import io.steergate.engine.training.TokenGates;
import io.steergate.engine.training.TrainingSettings;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Fits a claimed job's intervention with its method on the stored prompt sets (and token gates when the job asks),
 * then measures it: the mean over sites of the per-neuron W1 distance between source and target activations (pooled
 * as the job's pooling says), before and after the maps (strength 1).
 */
final class Fitter {

    /** The fitted maps and what the job records about them; {@code cancelled} when a later attempt took the job. */
    record Fitted(Intervention intervention, Map<String, Object> metrics, boolean cancelled) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private Fitter() {
    }

    /**
     * @param afterEachBatch run after every batch of every activation collection: the fit's, the token gates' and the
     *     transport measure's (see {@link InterventionMethod#fit})
     * @throws IllegalArgumentException when the job does not fit the model (sites, prompt counts) or names no
     *     registered method
     */
    static Fitted fit(LlamaModel model, Claim job, Consumer<Lineas.Progress> progress, BooleanSupplier cancel,
            Runnable afterEachBatch) {
        InterventionMethod method = InterventionMethods.byWireName(job.method());
        List<HookSite> sites = SiteSpec.parse(job.sites(), model.config().nLayers());
        String concept = job.description() == null ? "" : job.description();
        List<String> source = withinContext(model, job.source());
        List<String> target = withinContext(model, job.target());
        TrainingSettings settings = job.hyperparameters().settings(method.defaults());
        long start = System.nanoTime();
        InterventionMethod.Trained trained = method.fit(model, source, target,
                new InterventionMethod.Request(job.intervention(), concept, sites, settings), progress, cancel,
                afterEachBatch);
        Map<String, Object> metrics = new LinkedHashMap<>(trained.metrics());
        Intervention intervention = trained.intervention();
        if (job.hyperparameters().tokenGates() && !trained.cancelled()) {
            intervention = gated(model, intervention, source, target, settings, metrics, afterEachBatch);
        }
        metrics.put("trainMillis", (System.nanoTime() - start) / 1_000_000);
        metrics.put("sites", intervention.maps().size());
        metrics.put("sourcePrompts", source.size());
        metrics.put("targetPrompts", target.size());
        if (!trained.cancelled()) {
            transport(model, source, target, intervention, settings, metrics, afterEachBatch);
        }
        return new Fitted(intervention, metrics, trained.cancelled());
    }

    // Two-step DSAS gates as `steer gate --source S --control T` fits them (default options): open where the source
    // prompts' activations sit, closed on the target's; the job's metrics carry each site's gate accuracy.
    private static Intervention gated(LlamaModel model, Intervention fitted, List<String> source, List<String> target,
            TrainingSettings settings, Map<String, Object> metrics, Runnable afterEachBatch) {
        Intervention gated = TokenGates.gate(model, fitted, source, target, TokenGates.Options.defaults(),
                Map.of("source_sha256", PromptSet.sha256Of(source), "control_sha256", PromptSet.sha256Of(target)),
                settings.pooling(), afterEachBatch);
        try {
            // the accuracies TokenGates records in the gate metadata, per site [train, held out]
            metrics.put("gateAccuracy", JSON.readTree(gated.metadata().get("gate")).path("accuracy_train_heldout"));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("TokenGates wrote gate metadata that is not JSON", e);
        }
        return gated;
    }

    // W1 on the training prompts, pooled as the fit pooled them: cheap (three collection passes), and a map that does
    // not lower it is suspect.
    private static void transport(LlamaModel model, List<String> source, List<String> target, Intervention intervention,
            TrainingSettings settings, Map<String, Object> metrics, Runnable afterEachBatch) {
        ActivationCollector collector = new ActivationCollector(model, settings.batchSize(), settings.pooling(),
                afterEachBatch);
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
