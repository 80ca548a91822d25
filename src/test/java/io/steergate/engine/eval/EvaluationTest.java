package io.steergate.engine.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.training.FitOptions;
import io.steergate.engine.training.MeanShift;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Evaluation on stories260K with a small N: the shape of a sweep, strength 0 as the exact baseline, composition. */
class EvaluationTest {

    private static final Path PROMPTS = Path.of("policies/prompts");
    private static final Path LEXICONS = Path.of("policies/lexicons");

    private static LlamaModel model;
    private static PromptSets kindness;
    private static PromptSets dogs;
    private static Intervention kind;
    private static Intervention noDogs;
    private static List<String> ppl;

    @BeforeAll
    static void load() throws IOException {
        model = TestModel.load();
        kindness = PromptSets.load(PROMPTS, "kindness");
        dogs = PromptSets.load(PROMPTS, "no-dogs");
        ppl = PromptSet.read(PROMPTS.resolve("perplexity.jsonl")).texts().subList(0, 16);
        List<HookSite> resid = new ArrayList<>();
        for (int l = 0; l < model.config().nLayers(); l++) {
            resid.add(new HookSite(l, HookPoint.RESID));
        }
        kind = MeanShift.fit(model, kindness.source().texts(), kindness.target().texts(),
                FitOptions.of("kindness", "meanness", resid)).intervention();
        noDogs = MeanShift.fit(model, dogs.source().texts(), dogs.target().texts(),
                FitOptions.of("no-dogs", "dogs", resid)).intervention();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static Evaluation.Probe probe(PromptSets sets, String concept, String desired) throws IOException {
        return new Evaluation.Probe(concept, sets.eval().texts(), LexiconScorer.load(LEXICONS.resolve(concept + ".txt")),
                desired == null ? null : LexiconScorer.load(LEXICONS.resolve(desired + ".txt")));
    }

    @Test
    void sweepHasOnePointPerStrengthAndStrengthZeroIsTheBaseline() throws IOException {
        Evaluation evaluation = new Evaluation(model, Evaluation.Options.defaults().withN(16));
        Evaluation.Sweep sweep = evaluation.sweep(kind, List.of(0.0, 1.0), probe(kindness, "meanness", "kindness"),
                new Evaluation.Activations(kindness.source().texts(), kindness.target().texts(),
                        kindness.eval().texts()), ppl);
        assertEquals(2, sweep.points().size());
        assertEquals(5, sweep.sparsity().sites());
        assertEquals(5 * 64, sweep.sparsity().neurons());
        assertTrue(sweep.sparsity().activeNeurons() > 0);

        Evaluation.Point zero = sweep.points().get(0);
        assertEquals(0.0, zero.strength());
        assertEquals(16, zero.concept().total());
        assertNotNull(zero.desired());
        assertEquals(1.0, zero.perplexityRatio()); // exactly: strength 0 is the unsteered forward
        assertEquals(sweep.basePerplexity(), zero.perplexity());
        assertEquals(zero.w1TrainBefore(), zero.w1TrainAfter());
        assertEquals(zero.w1HeldOutBefore(), zero.w1HeldOutAfter());

        Evaluation.Point one = sweep.points().get(1);
        assertEquals(16, one.concept().total());
        assertTrue(one.perplexityRatio() != 1.0);
        // a mean shift fitted causally at the residual stream moves the source toward the target
        assertTrue(one.w1TrainAfter() < one.w1TrainBefore(), one.w1TrainAfter() + " vs " + one.w1TrainBefore());
        assertEquals(zero.w1TrainBefore(), one.w1TrainBefore());
        assertEquals(5, one.samples().size());
    }

    @Test
    void withoutDesiredLexiconOrActivationsTheColumnsAreEmpty() throws IOException {
        Evaluation evaluation = new Evaluation(model, Evaluation.Options.defaults().withN(4));
        Evaluation.Sweep sweep = evaluation.sweep(noDogs, List.of(0.5), probe(dogs, "dogs", null),
                new Evaluation.Activations(List.of(), List.of(), List.of()), ppl);
        Evaluation.Point p = sweep.points().get(0);
        assertNull(p.desired());
        assertTrue(Double.isNaN(p.w1TrainBefore()));
        assertTrue(Double.isNaN(p.w1HeldOutAfter()));
    }

    @Test
    void compositionReportsEachConceptAloneAndComposed() throws IOException {
        Evaluation evaluation = new Evaluation(model, Evaluation.Options.defaults().withN(8));
        List<Evaluation.CompositionPoint> points = evaluation.compose(List.of(kind, noDogs),
                List.of(probe(kindness, "meanness", null), probe(dogs, "dogs", null)), List.of(0.0, 1.0), ppl);
        assertEquals(2, points.size());
        Evaluation.CompositionPoint zero = points.get(0);
        assertEquals(1.0, zero.perplexityRatio());
        assertEquals(zero.alone(), zero.composed()); // strength 0: both plans are empty, same seeds
        assertEquals(2, points.get(1).composed().size());
        assertThrows(IllegalArgumentException.class,
                () -> evaluation.compose(List.of(kind), List.of(), List.of(1.0), ppl));
    }
}
