package io.steergate.bench;

import io.steergate.engine.eval.LexiconScorer;
import io.steergate.engine.eval.LinearProbe;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.eval.PromptSets;
import io.steergate.engine.eval.ProbeScorer;
import io.steergate.engine.model.Completion;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.testing.TestModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The probe scorer against the lexicon (EVALUATION.md, "Probe scorer"). Per shipped intervention: a probe per layer's
 * resid site fitted on the first {@value #TRAIN} texts of the source (concept) and target sets; its accuracy on the
 * held-out rest, next to the lexicon's (a text "has the concept" when any word hits); then both scorers on greedy
 * continuations of the eval prompts, unsteered and steered at strength 1 with the shipped map, with their agreement
 * and Cohen's kappa (probe: p >= 0.5; lexicon: any hit). A main, not a test.
 */
public final class ProbeAgreement {

    private static final int TRAIN = 40;
    private static final int NEW_TOKENS = 48;

    public static void main(String[] args) throws Exception {
        Path policies = Path.of("policies");
        int site = Integer.getInteger("probe.layer", 2);
        try (LlamaModel model = TestModel.load()) {
            Generator generator = new Generator(model);
            System.out.printf("model %s, probes at layers.*.resid, trained on %d + %d texts, continuations %d greedy tokens%n",
                    model.name(), TRAIN, TRAIN, NEW_TOKENS);
            for (String[] spec : new String[][] {{"kindness", "meanness"}, {"cheerful", "sadness"}, {"no-dogs", "dogs"}}) {
                PromptSets sets = PromptSets.load(policies.resolve("prompts"), spec[0]);
                LexiconScorer lexicon = LexiconScorer.load(policies.resolve("lexicons/" + spec[1] + ".txt"));
                List<String> source = sets.source().texts();
                List<String> target = sets.target().texts();
                List<String> heldConcept = source.subList(TRAIN, source.size());
                List<String> heldOther = target.subList(TRAIN, target.size());
                System.out.printf("%n%s (concept %s): held out %d + %d%n", spec[0], spec[1], heldConcept.size(), heldOther.size());
                System.out.printf("  lexicon (any hit) held-out accuracy %.3f%n",
                        accuracy(heldConcept.stream().map(t -> lexicon.hits(t) ? 1.0 : 0.0).toList(),
                                heldOther.stream().map(t -> lexicon.hits(t) ? 1.0 : 0.0).toList()));
                ProbeScorer chosen = null;
                for (int layer = 0; layer < model.config().nLayers(); layer++) {
                    ProbeScorer probe = ProbeScorer.train(model, new HookSite(layer, HookPoint.RESID),
                            source.subList(0, TRAIN), target.subList(0, TRAIN), LinearProbe.Options.defaults());
                    System.out.printf("  probe layers.%d.resid held-out accuracy %.3f%n", layer,
                            accuracy(probe.scoreAll(heldConcept), probe.scoreAll(heldOther)));
                    if (layer == site) {
                        chosen = probe;
                    }
                }
                SteeringPlan steered = SteeringPlan.of(InterventionFile.read(policies.resolve("interventions/" + spec[0] + ".safetensors")), 1.0);
                for (SteeringPlan plan : new SteeringPlan[] {SteeringPlan.NONE, steered}) {
                    List<String> outputs = continuations(generator, sets.eval(), plan);
                    List<Double> probs = chosen.scoreAll(outputs);
                    int both = 0, lexOnly = 0, probeOnly = 0, neither = 0;
                    for (int i = 0; i < outputs.size(); i++) {
                        boolean l = lexicon.hits(outputs.get(i));
                        boolean p = probs.get(i) >= 0.5;
                        if (l && p) both++; else if (l) lexOnly++; else if (p) probeOnly++; else neither++;
                    }
                    int n = outputs.size();
                    double agree = (double) (both + neither) / n;
                    double pl = (double) (both + lexOnly) / n;
                    double pp = (double) (both + probeOnly) / n;
                    double chance = pl * pp + (1 - pl) * (1 - pp);
                    double kappa = chance >= 1 ? 1 : (agree - chance) / (1 - chance);
                    System.out.printf("  %s continuations (n=%d), probe at layers.%d.resid: both %d, lexicon only %d, probe only %d,"
                            + " neither %d; agreement %.3f, kappa %.3f%n", plan.isEmpty() ? "unsteered" : "steered", n, site,
                            both, lexOnly, probeOnly, neither, agree, kappa);
                }
            }
        }
    }

    /** Balanced accuracy: the mean of the two classes' hit rates at p >= 0.5. */
    private static double accuracy(List<Double> concept, List<Double> other) {
        double tp = concept.stream().filter(p -> p >= 0.5).count() / (double) concept.size();
        double tn = other.stream().filter(p -> p < 0.5).count() / (double) other.size();
        return (tp + tn) / 2;
    }

    private static List<String> continuations(Generator generator, PromptSet prompts, SteeringPlan plan) {
        List<GenerationInput> rows = new ArrayList<>();
        for (String prompt : prompts.texts()) {
            GenerationInput row = GenerationInput.greedy(prompt, NEW_TOKENS);
            rows.add(plan.isEmpty() ? row : row.withSteering(plan));
        }
        return generator.generate(rows).stream().map(Completion::text).toList();
    }
}
