package io.steergate.engine.training;

import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Token-level estimation, an experiment for issue 12 (EVALUATION.md, "Session 18"): mean shift or Linear-AcT fitted
 * as {@code steer fit} fits them (causally, targets clean) but on each prompt's last-token activation instead of the
 * mean over its tokens. With the selfgen sets (a source text is cut just before the model writes a concept word, its
 * target is a continuation of the same prompt that does not, cut at the same length) the last token is where the
 * model chooses, so the map moves "about to write the concept" towards "not". Not a test and not yet a
 * {@code steer fit} option: a main that writes a map file for {@code steer evaluate}.
 *
 * <p>Arguments: {@code SOURCE.jsonl TARGET.jsonl SITES METHOD NAME CONCEPT OUT.safetensors [gated]}; METHOD
 * mean-shift, linear-act or lineas; SITES comma-separated site names (layers.4.resid,...); {@code gated}: the map also gets
 * DSAS token gates ({@link TokenGates}) fitted on the same last tokens, source against target. The model:
 * {@code -Dsteergate.model.dir}.
 */
public final class LastTokenFit {

    public static void main(String[] args) throws Exception {
        List<String> source = PromptSet.read(Path.of(args[0])).texts();
        List<String> target = PromptSet.read(Path.of(args[1])).texts();
        List<HookSite> sites = Arrays.stream(args[2].split(",")).map(HookSite::parse).toList();
        try (LlamaModel model = LlamaModel.load(Path.of(System.getProperty("steergate.model.dir",
                "../shared/models/stories260K")), DeviceChoice.parse("cpu"))) {
            Intervention fitted = fit(model, source, target, sites, args[3], args[4], args[5]);
            fitted.maps().forEach((site, map) -> {
                double norm = 0;
                for (float b : map.beta()) {
                    norm += b * b;
                }
                System.out.printf("%s: |beta| %.4f%n", site.name(), Math.sqrt(norm));
            });
            Intervention map = fitted;
            if (args.length > 7 && args[7].equals("gated")) {
                // DSAS gates from the same last tokens: open where the model is about to write the concept
                map = TokenGates.gate(model, map, source, target, TokenGates.Options.defaults(), Map.of(),
                        ActivationCollector.Pooling.LAST);
                System.out.println("gate: " + map.metadata().get("gate"));
            }
            InterventionFile.write(map, Path.of(args[6]));
            System.out.printf("%d source / %d target prompts; wrote %s%n", source.size(), target.size(), args[6]);
        }
    }

    /**
     * The closed-form methods as {@code steer fit} runs them; LinEAS with the third measurement's recipe (300 steps,
     * lr 1e-2, a quarter held out, patience 50; seed {@code -Dsteergate.fit.seed}, default 0), every pooled
     * activation of its loss and checks taken at the last token.
     */
    private static Intervention fit(LlamaModel model, List<String> source, List<String> target, List<HookSite> sites,
            String method, String name, String concept) {
        if (method.equals("lineas")) {
            LineasOptions options = new LineasOptions(name, concept, sites, 300, 1e-2, 32, 0, 0,
                    Long.getLong("steergate.fit.seed", 0L), 0.25, 50);
            LineasFit fit = Lineas.run(model, source, target, options, null, progress -> { }, () -> false,
                    (step, gradOmega, gradBeta) -> { }, ActivationCollector.Pooling.LAST);
            System.out.printf("LinEAS: loss %.4f -> %.4f, %s%n", fit.initialLoss(), fit.finalLoss(), fit.w1());
            return fit.intervention();
        }
        CausalMethod closedForm = switch (method) {
            case "mean-shift" -> MeanShift.METHOD;
            case "linear-act" -> LinearAct.METHOD;
            default -> throw new IllegalArgumentException("METHOD is mean-shift, linear-act or lineas, got " + method);
        };
        return CausalFit.run(model, source, target, FitOptions.of(name, concept, sites), closedForm.metadataName(),
                closedForm.estimatorHyperparameters(), closedForm.estimator(), ActivationCollector.Pooling.LAST).intervention();
    }
}
