package io.steergate.retraining;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.model.CountingTokenizer;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.training.TokenGates;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The trainer cuts prompt-set texts to what the model can take before the tokenizer sees them, and fits with the job's
 * pooling and, when asked, token gates.
 */
class FitterTest {

    private static final List<String> SOURCE = List.of("The dog was sad.", "Tom did not share his toy.",
            "He was mean to her.");
    private static final List<String> TARGET = List.of("The dog was happy and kind.", "Lily shared her toy.",
            "They were friends.");

    @Test
    void promptTextsAreCutToTheContextBeforeTheyAreTokenized() throws IOException {
        String longStory = "Once upon a time there was a kind dog who loved to help. ".repeat(2_000); // 114,000 characters
        List<String> source = List.of(longStory, "The dog was sad.", "Tom did not share his toy.");
        List<String> target = List.of("The dog was happy and kind.", "Lily shared her toy.", "They were friends.");
        Claim claim = new Claim(UUID.randomUUID(), 1, "kindness", "toxicity", null, "mean-shift", "resid",
                new Hyperparameters(300, 1e-2, 0, 0, 0L, 0, 0, "mean", false, null), false, source, target, null, null);
        try (CountingTokenizer.Counted counted = CountingTokenizer.load(TestModel.dir())) {
            int seqLen = counted.model().config().seqLen();

            Fitter.Fitted fitted = Fitter.fit(counted.model(), claim, progress -> { }, () -> false, () -> { });

            List<String> encoded = counted.tokenizer().encoded();
            assertFalse(encoded.isEmpty());
            int longest = encoded.stream().mapToInt(String::length).max().orElseThrow();
            // tok512's longest piece is 7 bytes: seqLen x 7 characters of ASCII already prove seqLen tokens
            assertTrue(longest <= seqLen * 7, "the tokenizer saw a text of " + longest + " characters");
            assertTrue(encoded.contains("The dog was sad."), "short texts are kept whole");
            assertEquals(3, fitted.metrics().get("sourcePrompts"));
            assertFalse(fitted.intervention().maps().isEmpty());
        }
    }

    @Test
    void aJobFitsWithItsPoolingAndAJobStoredBeforePoolingExistedIsMeanPooled() throws IOException {
        try (LlamaModel model = TestModel.load()) {
            Fitter.Fitted last = Fitter.fit(model, claim("last"), progress -> { }, () -> false, () -> { });
            Fitter.Fitted old = Fitter.fit(model, claim(null), progress -> { }, () -> false, () -> { });

            assertTrue(last.intervention().metadata().get("hyperparameters").contains("\"pooling\":\"last\""),
                    last.intervention().metadata().toString());
            assertFalse(old.intervention().metadata().get("hyperparameters").contains("pooling"),
                    old.intervention().metadata().toString());
            assertFalse(last.intervention().maps().equals(old.intervention().maps()));
        }
    }

    @Test
    void aJobAskingForTokenGatesGetsTheGatesSteerGateWouldFitOnItsPromptsPooledAsItsFit() throws IOException {
        try (LlamaModel model = TestModel.load()) {
            Fitter.Fitted plain = Fitter.fit(model, claim("last"), progress -> { }, () -> false, () -> { });
            Fitter.Fitted gated = Fitter.fit(model, claim("last", true), progress -> { }, () -> false, () -> { });

            Intervention expected = TokenGates.gate(model, plain.intervention(), SOURCE, TARGET,
                    TokenGates.Options.defaults(), Map.of("source_sha256", PromptSet.sha256Of(SOURCE),
                            "control_sha256", PromptSet.sha256Of(TARGET)), ActivationCollector.Pooling.LAST);
            assertEquals(expected.maps(), gated.intervention().maps());
            assertEquals(expected.metadata(), gated.intervention().metadata());
            assertTrue(gated.metrics().get("gateAccuracy").toString().contains("layers.2.resid"),
                    gated.metrics().toString());
            assertFalse(plain.metrics().containsKey("gateAccuracy"));
        }
    }

    @Test
    void aLineasJobTrainsOnTheBatchItAsksForAndAJobStoredBeforeItCouldAskOnTheDefault() throws IOException {
        try (LlamaModel model = TestModel.load()) {
            assertEquals("8", batchTrainedOn(model, 8));
            // more than the 40 sources: every prompt at every step
            assertEquals("40", batchTrainedOn(model, 1024));
            assertEquals("32", batchTrainedOn(model, null));
        }
    }

    /** The batch a two-step LinEAS job on 40 + 40 prompts recorded in its map, asked for {@code batchSize}. */
    private static String batchTrainedOn(LlamaModel model, Integer batchSize) {
        List<String> source = IntStream.range(0, 40).mapToObj(i -> "Dog " + i + " was sad.").toList();
        List<String> target = IntStream.range(0, 40).mapToObj(i -> "Cat " + i + " was glad.").toList();
        Claim claim = new Claim(UUID.randomUUID(), 1, "no-dogs", "negation", null, "lineas", "layers.2.resid",
                new Hyperparameters(2, 1e-2, 0, 0, 0L, 0, 0, "last", false, batchSize), false, source, target, null,
                null);
        String hyperparameters = Fitter.fit(model, claim, progress -> { }, () -> false, () -> { }).intervention().metadata()
                .get("hyperparameters");
        return hyperparameters.replaceAll(".*\"batch\":\"(\\d+)\".*", "$1");
    }

    private static Claim claim(String pooling) {
        return claim(pooling, false);
    }

    private static Claim claim(String pooling, boolean tokenGates) {
        return new Claim(UUID.randomUUID(), 1, "kindness", "toxicity", null, "mean-shift", "layers.2.resid",
                new Hyperparameters(300, 1e-2, 0, 0, 0L, 0, 0, pooling, tokenGates, null), false, SOURCE, TARGET, null, null);
    }
}
