package io.steergate.engine.training;

import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.Intervention;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/** LinEAS ({@link Lineas}) as a registered method: trained in steps, with progress and cancel. */
final class LineasMethod implements InterventionMethod {

    @Override
    public String wireName() {
        return "lineas";
    }

    @Override
    public String metadataName() {
        return Intervention.LINEAS;
    }

    @Override
    public int minSourcePrompts() {
        return Lineas.MIN_SOURCE_PROMPTS;
    }

    @Override
    public int minTargetPrompts() {
        return Lineas.MIN_TARGET_PROMPTS;
    }

    @Override
    public int heldOutPrompts(int prompts, TrainingSettings settings) {
        return HeldOutSplit.heldOutCount(prompts, settings.heldOut());
    }

    @Override
    public Trained fit(LlamaModel model, List<String> source, List<String> target, Request request,
            Consumer<Lineas.Progress> progress, BooleanSupplier cancel, Runnable afterEachBatch) {
        LineasOptions options = LineasOptions.of(request.name(), request.concept(), request.sites(), request.settings());
        LineasFit fit = Lineas.train(model, source, target, options, request.gates(), progress, cancel,
                afterEachBatch);
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("stepsRun", fit.stepsRun());
        metrics.put("initialLoss", finite(fit.initialLoss()));
        metrics.put("finalLoss", finite(fit.finalLoss()));
        metrics.put("skippedSteps", fit.skippedSteps());
        LineasFit.W1 w1 = fit.w1();
        metrics.put("trainW1Before", finite(w1.trainBefore()));
        metrics.put("trainW1", finite(w1.train()));
        metrics.put("heldOutPrompts", w1.heldOutPrompts());
        metrics.put("heldOutW1Before", finite(w1.heldOutBefore()));
        metrics.put("heldOutW1", finite(w1.heldOut()));
        metrics.put("heldOutW1Floor", finite(w1.heldOutFloor()));
        metrics.put("mapsStep", w1.mapsStep());
        metrics.put("stoppedEarly", w1.stoppedEarly());
        String summary = String.format(Locale.ROOT, "%d steps, loss %.5g -> %.5g (%.0f%% lower), %d skipped; "
                + "train W1 %.5g -> %.5g", fit.stepsRun(), fit.initialLoss(), fit.finalLoss(),
                100 * (1 - fit.finalLoss() / fit.initialLoss()), fit.skippedSteps(), w1.trainBefore(), w1.train());
        if (w1.heldOutPrompts() > 0) {
            summary += String.format(Locale.ROOT, "; held-out W1 (%d prompts per side) %.5g -> %.5g (floor %.5g); "
                    + "maps of step %d%s", w1.heldOutPrompts(), w1.heldOutBefore(), w1.heldOut(), w1.heldOutFloor(),
                    w1.mapsStep(),
                    w1.stoppedEarly() ? ", stopped early" : "");
        }
        return new Trained(fit.intervention(), metrics, fit.cancelled(), summary);
    }

    private static Double finite(double x) {
        return Double.isFinite(x) ? x : null;
    }
}
