package io.steergate.retraining;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.model.CountingTokenizer;
import io.steergate.engine.model.LlamaModel;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The trainer cuts prompt-set texts to what the model can take before the tokenizer sees them, and fits with the job's
 * pooling.
 */
class FitterTest {

    @Test
    void promptTextsAreCutToTheContextBeforeTheyAreTokenized() throws IOException {
        String longStory = "Once upon a time there was a kind dog who loved to help. ".repeat(2_000); // 114,000 characters
        List<String> source = List.of(longStory, "The dog was sad.", "Tom did not share his toy.");
        List<String> target = List.of("The dog was happy and kind.", "Lily shared her toy.", "They were friends.");
        Claim claim = new Claim(UUID.randomUUID(), 1, "kindness", "toxicity", null, "mean-shift", "resid",
                new Hyperparameters(300, 1e-2, 0, 0, 0L, 0, 0, "mean"), false, source, target, null, null);
        try (CountingTokenizer.Counted counted = CountingTokenizer.load(TestModel.dir())) {
            int seqLen = counted.model().config().seqLen();

            Fitter.Fitted fitted = Fitter.fit(counted.model(), claim, progress -> { }, () -> false);

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
        List<String> source = List.of("The dog was sad.", "Tom did not share his toy.", "He was mean to her.");
        List<String> target = List.of("The dog was happy and kind.", "Lily shared her toy.", "They were friends.");
        try (LlamaModel model = TestModel.load()) {
            Fitter.Fitted last = Fitter.fit(model, claim(source, target, "last"), progress -> { }, () -> false);
            Fitter.Fitted old = Fitter.fit(model, claim(source, target, null), progress -> { }, () -> false);

            assertTrue(last.intervention().metadata().get("hyperparameters").contains("\"pooling\":\"last\""),
                    last.intervention().metadata().toString());
            assertFalse(old.intervention().metadata().get("hyperparameters").contains("pooling"),
                    old.intervention().metadata().toString());
            assertFalse(last.intervention().maps().equals(old.intervention().maps()));
        }
    }

    private static Claim claim(List<String> source, List<String> target, String pooling) {
        return new Claim(UUID.randomUUID(), 1, "kindness", "toxicity", null, "mean-shift", "layers.2.resid",
                new Hyperparameters(300, 1e-2, 0, 0, 0L, 0, 0, pooling), false, source, target, null, null);
    }
}
