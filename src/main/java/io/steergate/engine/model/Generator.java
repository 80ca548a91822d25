package io.steergate.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDResource;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * Batched text generation on a {@link LlamaModel}: one prefill of all prompts, then token-by-token decode with a KV
 * cache until every row has stopped.
 *
 * <p>Rows are left-padded to the longest prompt, so that every row writes the same cache column at each step; each
 * row keeps its own RoPE positions (counted from its first real token) and an attention mask hides its padding.
 * A row therefore produces the same tokens as it would alone, and samples from its own seeded random stream.
 *
 * <p>Each row may carry its own steering ({@link GenerationInput#steering()}): once per batch, the rows' folded
 * stages become (B, 1, dim) arrays per used site ({@link SteeringBatch}), applied at every position of prefill and
 * decode. A batch with no steered row runs the unsteered forward (no hook at any site).
 *
 * <p>Thread-safe: generations on the same model run one at a time (they lock the model), since each step attaches
 * the model's weights to its own NDManager.
 */
public final class Generator {

    private final LlamaModel model;

    public Generator(LlamaModel model) {
        this.model = Objects.requireNonNull(model, "model");
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
        LlamaConfig config = model.config();
        int sites = config.nLayers() * SiteHook.POINTS;
        for (Collection<Integer> pooled : pooledSites) {
            if (pooled != null && pooled.stream().anyMatch(site -> site < 0 || site >= sites)) {
                throw new IllegalArgumentException("pooled sites " + pooled + " are not all among the model's " + sites);
            }
        }
        GeneratedPooling pooling = new GeneratedPooling(pooledSites, site -> SiteHook.point(site).width(config));
        Tokenizer tokenizer = model.tokenizer();
        int seqLen = config.seqLen();

        // rows: tokens, budget within the context, padding
        int[][] prompts = new int[rows][];
        int[] maxTokens = new int[rows];
        int[] budget = new int[rows]; // tokens this row may emit: maxTokens, or fewer when the context is short
        Sampler[] samplers = new Sampler[rows];
        int promptColumns = 0;
        int maxBudget = 0;
        for (int b = 0; b < rows; b++) {
            GenerationInput input = batch.get(b);
            prompts[b] = promptTokens.get(b);
            if (prompts[b].length == 0) {
                throw new IllegalArgumentException("prompt of row " + b + " has no tokens (BOS at least)");
            }
            if (prompts[b].length > seqLen) {
                throw new IllegalArgumentException("prompt of row " + b + " has " + prompts[b].length
                        + " tokens; the context holds " + seqLen);
            }
            maxTokens[b] = input.maxTokens();
            budget[b] = Math.min(input.maxTokens(), seqLen - prompts[b].length);
            samplers[b] = new Sampler(input.temperature(), input.topP(), input.seed());
            promptColumns = Math.max(promptColumns, prompts[b].length);
            maxBudget = Math.max(maxBudget, budget[b]);
        }
        int[] pad = new int[rows]; // left padding of each row
        int[][] generated = new int[rows][];
        int[] count = new int[rows];
        StopReason[] stop = new StopReason[rows];
        for (int b = 0; b < rows; b++) {
            pad[b] = promptColumns - prompts[b].length;
            generated[b] = new int[budget[b]];
            if (budget[b] == 0) {
                stop[b] = StopReason.CONTEXT_FULL;
            }
        }

        if (maxBudget > 0) {
            // the last emitted token is never fed back, so the cache needs one column less than the tokens
            int columns = promptColumns + maxBudget - 1;
            synchronized (model) {
                decode(prompts, pad, promptColumns, columns, new Rows(budget, maxTokens, samplers, generated, count, stop),
                        batch.stream().map(GenerationInput::steering).toList(), pooling);
            }
        }

        List<Completion> completions = new ArrayList<>(rows);
        for (int b = 0; b < rows; b++) {
            int[] tokens = Arrays.copyOf(generated[b], count[b]);
            int previous = prompts[b][prompts[b].length - 1];
            completions.add(new Completion(tokenizer.decode(previous, tokens), prompts[b].length, count[b], stop[b],
                    pooling.means(b)));
        }
        return completions;
    }

    private void decode(int[][] prompts, int[] pad, int promptColumns, int columns, Rows state,
            List<RowSteering> steering, GeneratedPooling pooling) {
        LlamaConfig config = model.config();
        int rows = prompts.length;
        int vocab = config.vocabSize();
        try (NDManager generation = model.manager().newSubManager()) {
            KvCache cache = new KvCache(generation, config, rows, columns);
            float[] padding = new float[rows * columns]; // (B, columns): MASKED over each row's left padding
            for (int b = 0; b < rows; b++) {
                Arrays.fill(padding, b * columns, b * columns + pad[b], LlamaModel.MASKED);
            }
            NDArray paddingMask = generation.create(padding, new Shape(rows, 1, 1, 1, columns)); // (B, 1, 1, 1, C)
            List<NDResource> longLived = new ArrayList<>(model.longLived());
            longLived.addAll(cache.all());
            longLived.add(paddingMask);
            // the rows' steering as per-batch arrays, built once; null when no row is steered
            SteeringBatch steered = SteeringBatch.build(generation, steering, config);
            SiteHook[] hooks = steered == null ? null : steered.hooks();
            if (steered != null) {
                longLived.addAll(steered.arrays());
            }
            hooks = pooled(hooks, pooling);
            NDResource[] attach = longLived.toArray(new NDResource[0]);

            // prefill: all prompts at columns [0, promptColumns)
            float[] logits;
            try (NDManager step = generation.newSubManager()) {
                step.tempAttachAll(attach);
                long[] tokens = new long[rows * promptColumns]; // (B, P), padding is token 0
                long[] positions = new long[rows * promptColumns]; // (B, P), padding at position 0
                for (int b = 0; b < rows; b++) {
                    for (int c = pad[b]; c < promptColumns; c++) {
                        tokens[b * promptColumns + c] = prompts[b][c - pad[b]];
                        positions[b * promptColumns + c] = c - pad[b];
                    }
                }
                float[] causal = new float[promptColumns * promptColumns]; // (P, P): query i sees keys j <= i
                for (int i = 0; i < promptColumns; i++) {
                    Arrays.fill(causal, i * promptColumns + i + 1, (i + 1) * promptColumns, LlamaModel.MASKED);
                }
                NDArray mask = paddingMask.get(":, :, :, :, :{}", promptColumns)
                        .add(step.create(causal, new Shape(promptColumns, promptColumns))); // (B, 1, 1, P, P)
                Shape shape = new Shape(rows, promptColumns);
                logits = model.forward(step.create(tokens, shape), step.create(positions, shape), mask, cache, 0,
                        hooks, config.nLayers()).toFloatArray(); // (B, vocab)
            }
            boolean running = state.sample(logits, vocab);
            pooling.emitted(state.emitted);

            // decode: feed each row's last token at the next column
            for (int column = promptColumns; running; column++) {
                try (NDManager step = generation.newSubManager()) {
                    step.tempAttachAll(attach);
                    long[] tokens = new long[rows]; // (B, 1)
                    long[] positions = new long[rows]; // (B, 1)
                    for (int b = 0; b < rows; b++) {
                        tokens[b] = state.last(b); // a stopped row feeds filler
                        positions[b] = Math.min(column - pad[b], config.seqLen() - 1);
                    }
                    NDArray mask = paddingMask.get(":, :, :, :, :{}", column + 1); // (B, 1, 1, 1, S)
                    Shape shape = new Shape(rows, 1);
                    logits = model.forward(step.create(tokens, shape), step.create(positions, shape), mask, cache,
                            column, hooks, config.nLayers()).toFloatArray(); // (B, vocab)
                }
                running = state.sample(logits, vocab);
                pooling.emitted(state.emitted);
            }
        }
    }

    /**
     * The hooks with, at each pooled site, the site's own hook (steering) followed by handing the last column of its
     * output to {@code pooling}; {@code hooks} itself when nothing is pooled.
     */
    private SiteHook[] pooled(SiteHook[] hooks, GeneratedPooling pooling) {
        if (pooling.isEmpty()) {
            return hooks;
        }
        SiteHook[] all = hooks == null ? new SiteHook[model.config().nLayers() * SiteHook.POINTS] : hooks.clone();
        for (int site : pooling.sites()) {
            SiteHook own = all[site];
            all[site] = x -> {
                NDArray y = own == null ? x : own.apply(x);
                // copied out now: in generation each layer's arrays are closed with the layer
                pooling.observe(site, y.get(new NDIndex(":, {}, :", y.getShape().get(1) - 1))
                        .toType(DataType.FLOAT32, false).toFloatArray());
                return y;
            };
        }
        return all;
    }

    /** The sampling state of the rows: what each may emit, what it has emitted, and why it stopped. */
    private final class Rows {
        private final int[] budget; // tokens the row may emit within the context
        private final int[] maxTokens;
        private final Sampler[] samplers;
        private final int[][] generated; // (B, budget) emitted tokens
        private final int[] count; // tokens emitted so far
        private final StopReason[] stop; // null while the row runs
        final boolean[] emitted; // whether the last sample emitted a generated token, per row

        Rows(int[] budget, int[] maxTokens, Sampler[] samplers, int[][] generated, int[] count, StopReason[] stop) {
            this.budget = budget;
            this.maxTokens = maxTokens;
            this.samplers = samplers;
            this.generated = generated;
            this.count = count;
            this.stop = stop;
            this.emitted = new boolean[budget.length];
        }

        /** The token row b feeds next: its last emitted token, or filler once it has stopped without one. */
        long last(int b) {
            return count[b] > 0 ? generated[b][count[b] - 1] : 0;
        }

        /** Samples the next token of every running row from logits (B, vocab); returns whether any row runs. */
        boolean sample(float[] logits, int vocab) {
            Tokenizer tokenizer = model.tokenizer();
            boolean running = false;
            Arrays.fill(emitted, false);
            for (int b = 0; b < budget.length; b++) {
                if (stop[b] != null) {
                    continue;
                }
                int next = samplers[b].sample(Arrays.copyOfRange(logits, b * vocab, (b + 1) * vocab));
                if (next == tokenizer.eos() || next == tokenizer.bos()) {
                    stop[b] = StopReason.END_OF_SEQUENCE;
                } else {
                    generated[b][count[b]++] = next;
                    emitted[b] = true;
                    if (count[b] == budget[b]) {
                        stop[b] = budget[b] < maxTokens[b] ? StopReason.CONTEXT_FULL : StopReason.MAX_TOKENS;
                    }
                }
                running |= stop[b] == null;
            }
            return running;
        }
    }
}
