package io.steergate.engine.eval;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The three prompt sets of one intervention, read from {@code <name>.source.jsonl}, {@code <name>.target.jsonl} and
 * {@code <name>.eval.jsonl} in one folder (policies/prompts): source activations are mapped onto target ones, and
 * the held-out eval prompts measure the result.
 *
 * @param source sentences that show the behaviour to remove
 * @param target sentences that show the desired behaviour
 * @param eval held-out prompts, free of the concept, to generate continuations from
 */
public record PromptSets(PromptSet source, PromptSet target, PromptSet eval) {

    /**
     * Reads the three sets of intervention {@code name} from {@code dir}.
     *
     * @throws IOException if a file is missing or unreadable (the message names it)
     * @throws IllegalArgumentException if a name is not a plain file name, or a file is malformed (see
     *     {@link PromptSet#read})
     */
    public static PromptSets load(Path dir, String name) throws IOException {
        if (name.isEmpty() || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new IllegalArgumentException("intervention name '" + name + "' is not a plain file name");
        }
        return new PromptSets(
                PromptSet.read(dir.resolve(name + ".source.jsonl")),
                PromptSet.read(dir.resolve(name + ".target.jsonl")),
                PromptSet.read(dir.resolve(name + ".eval.jsonl")));
    }
}
