package io.steergate.bench;

import io.steergate.engine.eval.LinearProbe;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.eval.ProbeScorer;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.HookSite;
import io.steergate.testing.TestModel;
import java.nio.file.Path;
import java.util.List;

/**
 * Whether the fitting sets made from the model's own continuations (policies/evaluation/selfgen_sets.py) carry a
 * contrast a linear read-out can find (EVALUATION.md, "Fitting sets from the model's own continuations"): per
 * intervention and layer, a {@link ProbeScorer} at the layer's resid site (mean-pooled, as the estimators pool) trained
 * on the first three quarters of the source and target texts, and its balanced accuracy on the rest (chance 0.5).
 * The sets are written in prompt order, so the held-out quarter comes from other prompts. A main, not a test.
 * Arguments: DIR SUFFIX, reading DIR/&lt;name&gt;SUFFIX.{source,target}.jsonl.
 */
public final class SelfgenProbe {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        try (LlamaModel model = TestModel.load()) {
            for (String name : List.of("kindness", "cheerful", "no-dogs")) {
                List<String> s = PromptSet.read(dir.resolve(name + args[1] + ".source.jsonl")).texts();
                List<String> t = PromptSet.read(dir.resolve(name + args[1] + ".target.jsonl")).texts();
                int n = Math.min(s.size(), t.size()), train = n * 3 / 4;
                StringBuilder line = new StringBuilder(String.format("%s: %d + %d trained, %d + %d held out, accuracy by layer",
                        name, train, train, n - train, n - train));
                for (int layer = 0; layer < model.config().nLayers(); layer++) {
                    ProbeScorer probe = ProbeScorer.train(model, new HookSite(layer, HookPoint.RESID),
                            s.subList(0, train), t.subList(0, train), LinearProbe.Options.defaults());
                    List<Double> a = probe.scoreAll(s.subList(train, n));
                    List<Double> b = probe.scoreAll(t.subList(train, n));
                    double acc = (a.stream().filter(p -> p >= 0.5).count() / (double) a.size()
                            + b.stream().filter(p -> p < 0.5).count() / (double) b.size()) / 2;
                    line.append(String.format(" l%d %.3f", layer, acc));
                }
                System.out.println(line);
            }
        }
    }
}
