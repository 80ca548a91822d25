package io.steergate.engine.training;

import io.steergate.engine.model.LlamaModel;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A closed-form method fitted causally ({@link CausalFit}): a per-site estimator and the names it goes by. One step,
 * so it never reports step progress and cannot be cancelled midway; its collection passes do report each batch.
 *
 * @param estimatorHyperparameters what the map metadata's hyperparameters record about the estimator
 */
record CausalMethod(String wireName, String metadataName, Map<String, String> estimatorHyperparameters,
        CausalFit.SiteEstimator estimator) implements InterventionMethod {

    CausalMethod {
        estimatorHyperparameters = Map.copyOf(estimatorHyperparameters);
    }

    Fit fit(LlamaModel model, List<String> source, List<String> target, FitOptions options) {
        return fit(model, source, target, options, () -> { });
    }

    private Fit fit(LlamaModel model, List<String> source, List<String> target, FitOptions options,
            Runnable afterEachBatch) {
        return CausalFit.run(model, source, target, options, metadataName, estimatorHyperparameters, estimator,
                afterEachBatch);
    }

    @Override
    public Trained fit(LlamaModel model, List<String> source, List<String> target, Request request,
            Consumer<Lineas.Progress> progress, BooleanSupplier cancel, Runnable afterEachBatch) {
        if (request.gates() != null) {
            throw new IllegalArgumentException("gates: " + wireName() + " has no gradient training to train token "
                    + "gates with; train them jointly with lineas, or add two-step gates to any map (steer gate)");
        }
        Fit fit = fit(model, source, target, FitOptions.of(request.name(), request.concept(), request.sites(),
                request.settings()), afterEachBatch);
        String summary = String.format(Locale.ROOT, "%d source / %d target prompts, %d per side, collect %d ms, "
                + "fit %d ms", fit.sourcePrompts(), fit.targetPrompts(), fit.samplesPerSide(), fit.collectMillis(),
                fit.fitMillis());
        return new Trained(fit.intervention(), Map.of("samplesPerSide", fit.samplesPerSide()), false, summary);
    }
}
