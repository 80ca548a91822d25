package io.steergate.engine.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The shipped prompt sets (policies/prompts) agree with the shipped lexicons (policies/lexicons): every source
 * sentence shows the concept, no target sentence does, and the held-out prompts are free of both sides.
 */
class PolicyPromptsTest {

    private static final Path PROMPTS = Path.of("policies", "prompts");
    private static final Path LEXICONS = Path.of("policies", "lexicons");

    @ParameterizedTest
    @CsvSource({"kindness, meanness, kindness", "cheerful, sadness, cheerfulness", "no-dogs, dogs, dogs"})
    void sourceShowsTheConceptTargetAndEvalDoNot(String name, String concept, String desired) throws IOException {
        PromptSets sets = PromptSets.load(PROMPTS, name);
        LexiconScorer remove = lexicon(concept);
        LexiconScorer want = lexicon(desired);

        assertTrue(sets.source().size() >= 48, name + " source: " + sets.source().size());
        assertEquals(sets.source().size(), sets.target().size(), name + ": source and target are parallel");
        assertTrue(sets.eval().size() >= 40, name + " eval: " + sets.eval().size());

        for (String text : sets.source().texts()) {
            assertTrue(remove.hits(text), name + " source lacks a " + concept + " word: " + text);
        }
        for (String text : sets.target().texts()) {
            assertEquals(List.of(), remove.matches(text), name + " target: " + text);
        }
        for (String text : sets.eval().texts()) {
            assertEquals(List.of(), remove.matches(text), name + " eval: " + text);
            assertEquals(List.of(), want.matches(text), name + " eval: " + text);
        }
        assertDistinct(sets.source(), sets.target(), sets.eval());
    }

    /**
     * The eliciting held-out sets ({@code <name>.elicit.jsonl}) set up the concept (a conflict, a setback, a pet about
     * to appear) without naming it: no prompt holds a word of the concept lexicon or of the desired one, and none
     * repeats a source, target or eval text.
     */
    @ParameterizedTest
    @CsvSource({"kindness, meanness, kindness", "cheerful, sadness, cheerfulness", "no-dogs, dogs, dogs"})
    void elicitingPromptsSetUpTheConceptWithoutNamingIt(String name, String concept, String desired)
            throws IOException {
        PromptSets sets = PromptSets.load(PROMPTS, name);
        PromptSet elicit = PromptSet.read(PROMPTS.resolve(name + ".elicit.jsonl"));
        LexiconScorer remove = lexicon(concept);
        LexiconScorer want = lexicon(desired);

        assertTrue(elicit.size() >= 40, name + " elicit: " + elicit.size());
        for (String text : elicit.texts()) {
            assertEquals(List.of(), remove.matches(text), name + " elicit: " + text);
            assertEquals(List.of(), want.matches(text), name + " elicit: " + text);
        }
        assertDistinct(sets.source(), sets.target(), sets.eval(), elicit);
    }

    @Test
    void perplexityPassagesAreNeutralShortStories() throws IOException {
        PromptSet passages = PromptSet.read(PROMPTS.resolve("perplexity.jsonl"));
        assertTrue(passages.size() >= 60, "perplexity: " + passages.size());
        for (String concept : List.of("meanness", "sadness", "dogs")) {
            LexiconScorer scorer = lexicon(concept);
            for (String text : passages.texts()) {
                assertEquals(List.of(), scorer.matches(text), concept + " in " + text);
            }
        }
        for (String text : passages.texts()) {
            long sentences = text.chars().filter(c -> c == '.' || c == '!' || c == '?').count();
            assertTrue(sentences >= 2 && sentences <= 4, sentences + " sentences: " + text);
        }
        assertDistinct(passages);
    }

    @Test
    void everyLexiconLoads() throws IOException {
        for (String name : List.of("meanness", "kindness", "sadness", "cheerfulness", "dogs")) {
            assertTrue(lexicon(name).entries().size() >= 5, name);
        }
    }

    private static LexiconScorer lexicon(String name) throws IOException {
        return LexiconScorer.load(LEXICONS.resolve(name + ".txt"));
    }

    private static void assertDistinct(PromptSet... sets) {
        Set<String> seen = new HashSet<>();
        for (PromptSet set : sets) {
            for (String text : set.texts()) {
                assertTrue(seen.add(text), "repeated text in " + set.name() + ": " + text);
            }
        }
    }
}
