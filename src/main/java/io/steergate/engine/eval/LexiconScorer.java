package io.steergate.engine.eval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Scores text against a word list (policies/lexicons/*.txt): a word hits when it is an entry or a simple inflection
 * of one. The concept detector behind {@link ConceptRate}; a lexicon stands in for the papers' toxicity classifier.
 *
 * <p>Inflections recognised: -s/-es, -ies/-ied/-ier/-iest for a final y, -ed/-d, -ing, -er/-est, each with a doubled
 * final consonant or a dropped final e where English spells it so ("hitting", "stopped", "smiling", "liked",
 * "sadder"), and the possessive -'s. There is no prefix matching: "mad" does not hit "made", "dog" does not hit
 * "dogma". Irregular forms ("fought", "wept") must be listed. A line "!word" lists a word that never hits even when it
 * looks like an inflection (for example "!meaning" next to "mean").
 */
public final class LexiconScorer implements Scorer {

    private final Set<String> entries;
    private final Set<String> exclusions;

    /**
     * A scorer for {@code words} (lowercased); entries starting with '!' are exclusions.
     *
     * @throws IllegalArgumentException if a word is empty or holds anything but letters and apostrophes
     */
    public LexiconScorer(Collection<String> words) {
        Set<String> in = new HashSet<>();
        Set<String> out = new HashSet<>();
        for (String raw : words) {
            String word = normalize(raw);
            if (word.startsWith("!")) {
                out.add(word.substring(1));
            } else {
                in.add(word);
            }
        }
        if (in.isEmpty()) {
            throw new IllegalArgumentException("lexicon has no entries");
        }
        this.entries = Set.copyOf(in);
        this.exclusions = Set.copyOf(out);
    }

    /**
     * Loads a lexicon file: one word per line, '#' starts a comment, blank lines are skipped.
     *
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException naming the file and line of an entry that is not a single word
     */
    public static LexiconScorer load(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<String> words = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int hash = line.indexOf('#');
            String word = (hash >= 0 ? line.substring(0, hash) : line).strip();
            if (word.isEmpty()) {
                continue;
            }
            try {
                words.add(normalize(word));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + " line " + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        try {
            return new LexiconScorer(words);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** The entries, lowercased, without exclusions. */
    public Set<String> entries() {
        return entries;
    }

    /** Share of the words of {@code text} that hit; 0 when the text has no words. */
    @Override
    public double score(String text) {
        List<String> words = words(text);
        if (words.isEmpty()) {
            return 0.0;
        }
        long hits = words.stream().filter(this::hitsWord).count();
        return (double) hits / words.size();
    }

    /** Whether any word of {@code text} hits. */
    public boolean hits(String text) {
        return words(text).stream().anyMatch(this::hitsWord);
    }

    /** The words of {@code text} that hit, lowercased, in order, repeats kept. */
    public List<String> matches(String text) {
        return words(text).stream().filter(this::hitsWord).toList();
    }

    /**
     * Splits text into lowercase words: runs of letters and apostrophes (a typographic ’ counts as one), with
     * apostrophes at either end removed, so quotes and plural possessives ("dogs'") reduce to the word.
     */
    public static List<String> words(String text) {
        List<String> words = new ArrayList<>();
        String lower = text.toLowerCase(Locale.ROOT).replace('\u2019', '\'');
        int i = 0;
        while (i < lower.length()) {
            if (!isWordChar(lower.charAt(i))) {
                i++;
                continue;
            }
            int start = i;
            while (i < lower.length() && isWordChar(lower.charAt(i))) {
                i++;
            }
            String word = stripApostrophes(lower.substring(start, i));
            if (!word.isEmpty()) {
                words.add(word);
            }
        }
        return words;
    }

    /** Whether one lowercase word is an entry or a simple inflection of one. */
    boolean hitsWord(String word) {
        if (exclusions.contains(word)) {
            return false;
        }
        if (entries.contains(word)) {
            return true;
        }
        if (word.endsWith("'s")) {
            String stem = word.substring(0, word.length() - 2);
            return !exclusions.contains(stem) && (entries.contains(stem) || inflectionOf(stem));
        }
        return inflectionOf(word);
    }

    // Undoes one suffix at a time and looks the candidate stem up; a stem must keep at least two letters.
    private boolean inflectionOf(String w) {
        // -ies, -ied, -ier, -iest: puppies, cried, happier, happiest -> y
        for (String suffix : new String[] {"ies", "ied", "ier", "iest"}) {
            if (w.endsWith(suffix) && known(cut(w, suffix) + "y")) {
                return true;
            }
        }
        // -s, -es: dogs, pushes
        if (w.endsWith("s") && (known(cut(w, "s")) || w.endsWith("es") && known(cut(w, "es")))) {
            return true;
        }
        // -ed, -ing, -er, -est: plain (yelled), dropped e (liked, smiling, nicer) and doubled consonant (stopped,
        // hitting, sadder)
        for (String suffix : new String[] {"ed", "ing", "er", "est"}) {
            if (!w.endsWith(suffix)) {
                continue;
            }
            String stem = cut(w, suffix);
            if (known(stem) || known(stem + "e") || doubled(stem) && known(stem.substring(0, stem.length() - 1))) {
                return true;
            }
        }
        return false;
    }

    private boolean known(String stem) {
        return stem.length() >= 2 && entries.contains(stem);
    }

    private static String cut(String word, String suffix) {
        return word.substring(0, word.length() - suffix.length());
    }

    private static boolean doubled(String stem) {
        int n = stem.length();
        return n >= 3 && stem.charAt(n - 1) == stem.charAt(n - 2) && "aeiou".indexOf(stem.charAt(n - 1)) < 0;
    }

    // Lowercases an entry, keeping a leading '!', and checks that it is one word.
    private static String normalize(String raw) {
        String word = raw.strip().toLowerCase(Locale.ROOT).replace('\u2019', '\'');
        String bare = word.startsWith("!") ? word.substring(1) : word;
        if (bare.isEmpty() || !isWord(bare)) {
            throw new IllegalArgumentException("lexicon entry '" + raw + "' is not a single word");
        }
        return word;
    }

    private static boolean isWord(String word) {
        return word.chars().allMatch(c -> isWordChar((char) c));
    }

    private static boolean isWordChar(char c) {
        return Character.isLetter(c) || c == '\'';
    }

    private static String stripApostrophes(String word) {
        int start = 0;
        int end = word.length();
        while (start < end && word.charAt(start) == '\'') {
            start++;
        }
        while (end > start && word.charAt(end - 1) == '\'') {
            end--;
        }
        return word.substring(start, end);
    }
}
