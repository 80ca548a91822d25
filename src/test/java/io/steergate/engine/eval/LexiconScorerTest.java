package io.steergate.engine.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LexiconScorer: tokenization, the inflections it accepts, the look-alikes it refuses, and file loading. */
class LexiconScorerTest {

    private final LexiconScorer mean = new LexiconScorer(
            List.of("mean", "mad", "hit", "push", "yell", "stupid", "hate", "bad", "sad", "cry", "nice", "smile",
                    "stop", "like", "happy", "!meaning"));
    private final LexiconScorer dogs = new LexiconScorer(List.of("dog", "puppy", "pup", "doggy"));

    @Test
    void tokenizesIntoLowercaseWordsOfLettersAndApostrophes() {
        assertEquals(List.of("tom", "said", "don't", "the", "dog's", "ball", "dogs", "x"),
                LexiconScorer.words("Tom said, \"Don't!\" The dog's ball... 'dogs' x-1 2"));
        assertEquals(List.of("it's"), LexiconScorer.words("It\u2019s"));
        assertEquals(List.of(), LexiconScorer.words(" 12, ... ''"));
    }

    @Test
    void entriesHitInAnyCase() {
        assertTrue(mean.hits("Tom was MEAN."));
        assertTrue(dogs.hits("A Dog!"));
    }

    @Test
    void pluralsAndThirdPerson() {
        for (String w : List.of("dogs", "puppies", "pups", "doggies", "dog's", "dogs'", "puppy's")) {
            assertTrue(dogs.hits(w), w);
        }
        for (String w : List.of("hits", "pushes", "yells", "hates", "cries", "stops", "likes")) {
            assertTrue(mean.hits(w), w);
        }
    }

    @Test
    void pastTenseWithDoubledConsonantDroppedEAndY() {
        for (String w : List.of("yelled", "pushed", "stopped", "liked", "hated", "smiled", "cried")) {
            assertTrue(mean.hits(w), w);
        }
    }

    @Test
    void progressiveWithDoubledConsonantAndDroppedE() {
        for (String w : List.of("hitting", "yelling", "pushing", "smiling", "hating", "crying", "stopping")) {
            assertTrue(mean.hits(w), w);
        }
    }

    @Test
    void comparativesAndSuperlatives() {
        for (String w : List.of("meaner", "meanest", "madder", "maddest", "sadder", "saddest", "nicer", "nicest",
                "happier", "happiest")) {
            assertTrue(mean.hits(w), w);
        }
    }

    @Test
    void noPrefixOrLookAlikeMatches() {
        for (String w : List.of("made", "madam", "hitch", "hitched", "pushy", "yellow", "badge", "sadness", "stupidly",
                "crystal", "nicely", "likely", "meaning", "meanings", "bath")) {
            assertFalse(mean.hits(w), w);
        }
        for (String w : List.of("dogma", "puppet", "pupil", "hotdog", "doggedly", "pupa")) {
            assertFalse(dogs.hits(w), w);
        }
    }

    @Test
    void exclusionsWinOverInflections() {
        assertFalse(mean.hits("What is the meaning of this?"));
        assertTrue(mean.hits("He was being mean."));
        assertFalse(mean.entries().contains("meaning"));
    }

    @Test
    void scoreIsTheShareOfWordsThatHit() {
        // 8 words, 2 hits: "yelled", "stupid"
        assertEquals(0.25, mean.score("Tom yelled at her and called her stupid."), 1e-12);
        assertEquals(0.0, mean.score("... 42"), 0.0);
        assertEquals(0.0, mean.score(""), 0.0);
        assertEquals(1.0, dogs.score("Dogs! Puppies!"), 1e-12);
    }

    @Test
    void matchesListsHitWordsInOrderWithRepeats() {
        assertEquals(List.of("dog", "puppies", "dog"), dogs.matches("The dog saw puppies. Dog, cat, dogma."));
        assertEquals(List.of(), dogs.matches("The cat sat."));
    }

    @Test
    void loadsFilesWithCommentsAndNamesTheBadLine(@TempDir Path dir) throws IOException {
        Path good = dir.resolve("good.txt");
        Files.writeString(good, "# animals\n\nDog   # the base form\npuppy\n!dogma\n");
        LexiconScorer loaded = LexiconScorer.load(good);
        assertEquals(java.util.Set.of("dog", "puppy"), loaded.entries());
        assertTrue(loaded.hits("puppies"));

        Path bad = dir.resolve("bad.txt");
        Files.writeString(bad, "dog\nhot dog\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LexiconScorer.load(bad));
        assertTrue(e.getMessage().contains("bad.txt line 2"), e.getMessage());

        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "# nothing\n");
        e = assertThrows(IllegalArgumentException.class, () -> LexiconScorer.load(empty));
        assertTrue(e.getMessage().contains("empty.txt"), e.getMessage());
    }
}
