package io.steergate.engine.model;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * Batched text generation on a {@link LlamaModel}: all rows submitted at once to a {@link ContinuousBatch} (one
 * prefill of all prompts), then token-by-token decode with a KV cache until every row has stopped; a row that stops
 * leaves the batch.
 *
 * <p>Rows are left-padded to the longest prompt; each row keeps its own RoPE positions (counted from its first real
 * token) and an attention mask hides its padding. A row therefore produces the same tokens as it would alone, and
 * samples from its own seeded random stream.
 *
 * <p>Each row may carry its own steering ({@link GenerationInput#steering()}): the rows' folded stages become
 * (B, 1, dim) arrays per used site ({@link SteeringBatch}), applied at every position of prefill and decode. A batch
 * with no steered row runs the unsteered forward (no hook at any site).
 *
 * <p>Thread-safe: each forward locks the model, since it attaches the model's weights to its own NDManager.
 */
public final class Generator {

    private final LlamaModel model;
    private final DecodePath path;

    public Generator(LlamaModel model) {
        this(model, DecodePath.AUTO);
    }

    /** A generator whose forwards run on {@code path} (see {@link ContinuousBatch}). */
    public Generator(LlamaModel model, DecodePath path) {
        this.model = Objects.requireNonNull(model, "model");
        this.path = Objects.requireNonNull(path, "path");
    }

    /**
     * The prompt's tokens, BOS included: a prompt fits when there are at most the model's seqLen. A caller that needs
     * the count before generating passes these tokens to {@link #generate(List, List)}, so each prompt is tokenized
     * once.
     */
    public int[] encodePrompt(String prompt) {
        return model.tokenizer().encode(prompt);
    }

    /**
     * A lower bound on the length of {@link #encodePrompt} from the prompt's length alone, without tokenizing
     * ({@link Tokenizer#minTokens}): a prompt for which this reaches the context cannot fit, and its tokenization
     * can be skipped. Linear in the prompt's length, whatever the tokenizer.
     */
    public int minPromptTokens(String prompt) {
        return model.tokenizer().minTokens(prompt);
    }

    /**
     * Generates a completion for every row of {@code batch} in one batched run.
     *
     * <p>A row stops at EOS or BOS (run.c's terminating condition; that token is not part of the completion), after
     * {@code maxTokens} tokens, or when its next token would not fit in the context (prompt plus completion at most
     * seqLen tokens), whichever comes first. Rows that stop early no longer contribute output; the run ends when all
     * rows have stopped.
     *
     * @param batch the rows; may be empty
     * @return one completion per row, in the order of {@code batch}
     * @throws IllegalArgumentException when a prompt alone is longer than the context
     */
    public List<Completion> generate(List<GenerationInput> batch) {
        return generate(batch, batch.stream().map(input -> encodePrompt(input.prompt())).toList());
    }

    /**
     * {@link #generate(List)} on prompts already tokenized: {@code promptTokens.get(b)} is
     * {@link #encodePrompt}{@code (batch.get(b).prompt())}, and is not tokenized again.
     *
     * @throws IllegalArgumentException when the lists differ in size, or a prompt has no tokens or more than the
     *     context holds
     */
    public List<Completion> generate(List<GenerationInput> batch, List<int[]> promptTokens) {
        return generate(batch, promptTokens, Collections.nCopies(batch.size(), null));
    }

    /**
     * {@link #generate(List, List)} that also mean-pools each row's activations over its generated positions at the
     * sites {@code pooledSites.get(b)} names (site indices, {@link SiteHook#index}; null or empty for none), into
     * {@link Completion#pooled()} ({@link GeneratedPooling}). Pooling reads what the forward computes anyway: the
     * tokens are the same as without it.
     *
     * @throws IllegalArgumentException as {@link #generate(List, List)}, or when a pooled site is not one of the model's
     */
    public List<Completion> generate(List<GenerationInput> batch, List<int[]> promptTokens,
            List<? extends Collection<Integer>> pooledSites) {
        int rows = batch.size();
        if (pooledSites.size() != rows) {
            throw new IllegalArgumentException(rows + " rows but " + pooledSites.size() + " lists of pooled sites");
        }
        if (promptTokens.size() != rows) {
            throw new IllegalArgumentException(rows + " rows but " + promptTokens.size() + " tokenized prompts");
        }
        if (rows == 0) {
            return List.of();
        }
        return generate(batch, promptTokens, pooledSites, Collections.nCopies(rows, null),
                Collections.nCopies(rows, () -> false));
    }

    /**
     * {@link #generate(List, List, List)} that hands row b's text as it is generated to {@code sinks.get(b)} (null for
     * none), and stops row b with {@link StopReason#CANCELLED} (keeping the tokens it has) once
     * {@code cancelled.get(b)} answers true; it is asked before every decode step.
     *
     * @throws IllegalArgumentException as {@link #generate(List, List, List)}, or when the lists differ in size
     */
    public List<Completion> generate(List<GenerationInput> batch, List<int[]> promptTokens,
            List<? extends Collection<Integer>> pooledSites, List<ContinuousBatch.TokenSink> sinks,
            List<BooleanSupplier> cancelled) {
        int rows = batch.size();
        if (pooledSites.size() != rows || promptTokens.size() != rows || sinks.size() != rows
                || cancelled.size() != rows) {
            throw new IllegalArgumentException(rows + " rows but " + promptTokens.size() + " tokenized prompts, "
                    + pooledSites.size() + " lists of pooled sites, " + sinks.size() + " sinks and "
                    + cancelled.size() + " cancel checks");
        }
        List<ContinuousBatch.RowRequest> unit = new ArrayList<>(rows);
        for (int b = 0; b < rows; b++) {
            unit.add(new ContinuousBatch.RowRequest(batch.get(b), promptTokens.get(b), pooledSites.get(b), sinks.get(b)));
        }
        Completion[] completions = new Completion[rows];
        try (ContinuousBatch run = new ContinuousBatch(model, Integer.MAX_VALUE, Integer.MAX_VALUE, path)) {
            ContinuousBatch.Ticket ticket = run.submit(unit, false);
            while (!run.idle()) {
                for (int b = 0; b < rows; b++) {
                    if (completions[b] == null && cancelled.get(b).getAsBoolean()) {
                        run.cancel(ticket, b);
                    }
                }
                for (ContinuousBatch.Finished done : run.step()) {
                    completions[done.row()] = done.completion();
                }
            }
        }
        return Arrays.asList(completions);
    }
}
