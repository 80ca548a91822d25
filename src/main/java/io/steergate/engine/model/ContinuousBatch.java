package io.steergate.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDResource;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Iteration-level scheduling of one model's generation: rows join a running batch between decode steps (after their
 * own prefill) and leave it when they finish, under a token budget. Single-threaded: the caller drives it with
 * {@link #step()}.
 *
 * <p>Layout: the live rows share a current column c, where each feeds its next token; a row's tokens sit left-padded
 * before it ({@link BatchRow}), its padding masked, its RoPE positions counted from its first real token, so that it
 * computes what it would alone. Joiners are prefilled together into columns [c' - P, c'), c' = max(c, P) for their
 * longest prompt P (the running rows' columns move right when P > c), and their cache rows are appended; rows that
 * stopped are sliced out, and the columns left of every live row's first token trimmed. Each row samples from its own
 * seeded stream and keeps its own steering (folded once, when submitted) and pooling.
 *
 * <p>The token budget bounds rows x (KV columns + 1) of the running batch, the KV columns being those the live rows
 * still need (up to c plus the most tokens any of them may still emit). Units are admitted first in, first out,
 * head-of-line: one that does not fit waits, and so does every unit behind it. A unit is admitted into an empty batch
 * whatever its cost, and an {@code alone} unit only into an empty batch, which then admits nothing until it is done.
 *
 * <p>The model is locked for each forward (a prefill or a decode step), not between them: other users of the model
 * interleave between steps.
 */
public final class ContinuousBatch implements AutoCloseable {

    /** One row to generate: its input, its prompt's tokens, the sites whose activations it pools, where its text goes. */
    public record RowRequest(GenerationInput input, int[] promptTokens, Collection<Integer> pooledSites, TokenSink sink) {
    }

    /** Receives a row's text as it is generated, on the stepping thread; a row without one passes null. */
    public interface TokenSink {
        /** {@code text} covers generated tokens {@code index} to {@code index + tokens - 1}. */
        void emitted(int index, int tokens, String text);
    }

    /** A submitted unit of rows (a job and its counterfactual row), in submission order. */
    public static final class Ticket {
        private final long id;

        Ticket(long id) {
            this.id = id;
        }

        public long id() {
            return id;
        }
    }

    /** A row that finished in a step: its unit, its index within the unit, its completion. */
    public record Finished(Ticket ticket, int row, Completion completion) {
    }

    private final LlamaModel model;
    private final LlamaConfig config;
    private final Tokenizer tokenizer;
    private final int tokenBudget;
    private final int maxRows;
    private final Deque<Unit> waiting = new ArrayDeque<>();
    private List<BatchRow> rows = new ArrayList<>(); // the batch, in cache row order; only running rows between steps
    private boolean aloneRuns; // an alone unit is in the batch: nothing joins
    private long nextId;
    private int joinEvery = 1; // decode steps between admissions into a running batch
    private int sinceJoin; // decode steps since the last admission
    private NDManager arrays; // owns the cache and what is built from the rows
    private KvCache cache; // null while no row runs
    private int column; // c: where every row feeds its next token
    private int width; // KV columns
    // built from the rows when they change (dirty), for decode steps
    private boolean dirty;
    private NDArray paddingMask; // (B, 1, 1, 1, width): MASKED left of each row's first token; null when no row has any
    private SteeringBatch steered;
    private SiteHook[] hooks;
    private NDResource[] attach;
    private final Map<Integer, float[]> lastColumns = new HashMap<>(); // pooled site -> the step's (B * width)

    /** A submitted unit waiting for admission. */
    private record Unit(Ticket ticket, List<BatchRow> rows, boolean alone) {
    }

    /**
     * @param tokenBudget the most rows x (KV columns + 1) the running batch may cost when a unit joins it
     * @param maxRows the most rows that may run together
     */
    public ContinuousBatch(LlamaModel model, int tokenBudget, int maxRows) {
        if (tokenBudget < 1 || maxRows < 1) {
            throw new IllegalArgumentException("token budget and rows must be at least 1, got " + tokenBudget
                    + " and " + maxRows);
        }
        this.model = model;
        this.config = model.config();
        this.tokenizer = model.tokenizer();
        this.tokenBudget = tokenBudget;
        this.maxRows = maxRows;
        this.arrays = model.manager().newSubManager();
    }

    /**
     * Lets units join a running batch only every {@code steps} decode steps (1, the default: at every step), so that
     * joiners arriving close together share one prefill: each prefill is a forward of its own, which the running rows
     * wait for. An empty batch admits at once.
     *
     * @return this batch
     */
    public ContinuousBatch joinEvery(int steps) {
        if (steps < 1) {
            throw new IllegalArgumentException("steps between joins must be at least 1, got " + steps);
        }
        joinEvery = steps;
        return this;
    }

    /**
     * Queues a unit (FIFO); its rows join together. An {@code alone} unit runs with no other row.
     *
     * @throws IllegalArgumentException when the unit is empty, a prompt has no tokens or more than the context holds,
     *     a pooled site is not one of the model's, or a row's steering does not fit the model
     */
    public Ticket submit(List<RowRequest> unit, boolean alone) {
        if (unit.isEmpty()) {
            throw new IllegalArgumentException("a unit needs at least one row");
        }
        int seqLen = config.seqLen();
        int sites = config.nLayers() * SiteHook.POINTS;
        List<RowSteering> steering = new ArrayList<>();
        for (int b = 0; b < unit.size(); b++) {
            RowRequest request = unit.get(b);
            int[] prompt = request.promptTokens();
            if (prompt.length == 0) {
                throw new IllegalArgumentException("prompt of row " + b + " has no tokens (BOS at least)");
            }
            if (prompt.length > seqLen) {
                throw new IllegalArgumentException("prompt of row " + b + " has " + prompt.length
                        + " tokens; the context holds " + seqLen);
            }
            Collection<Integer> pooled = request.pooledSites();
            if (pooled != null && pooled.stream().anyMatch(site -> site < 0 || site >= sites)) {
                throw new IllegalArgumentException("pooled sites " + pooled + " are not all among the model's " + sites);
            }
            steering.add(request.input().steering());
        }
        try (NDManager check = arrays.newSubManager()) {
            SteeringBatch.build(check, steering, config); // refuses a site or width the model does not have
        }
        Ticket ticket = new Ticket(nextId++);
        List<BatchRow> batchRows = new ArrayList<>();
        for (int b = 0; b < unit.size(); b++) {
            batchRows.add(new BatchRow(ticket, b, unit.get(b), seqLen, config, tokenizer));
        }
        waiting.add(new Unit(ticket, batchRows, alone));
        return ticket;
    }

    /** A waiting unit is dropped; a running unit's rows leave at the next step with {@link StopReason#CANCELLED}. */
    public void cancel(Ticket ticket) {
        if (!waiting.removeIf(unit -> unit.ticket() == ticket)) {
            rows.stream().filter(row -> row.ticket == ticket).forEach(row -> row.cancelled = true);
        }
    }

    /**
     * Cancels one row of a unit: it leaves at the next step with {@link StopReason#CANCELLED} and the tokens it has (none
     * when its unit still waits); the unit's other rows go on.
     */
    public void cancel(Ticket ticket, int row) {
        waiting.stream().filter(unit -> unit.ticket() == ticket).forEach(unit -> unit.rows().get(row).cancelled = true);
        rows.stream().filter(r -> r.ticket == ticket && r.index == row).forEach(r -> r.cancelled = true);
    }

    /**
     * Removes cancelled rows, admits waiting units that fit (one prefill of all of them), runs one decode step; the rows
     * that finished in it (cancelled rows with the tokens they had).
     */
    public List<Finished> step() {
        List<Finished> finished = new ArrayList<>();
        if (rows.stream().anyMatch(row -> row.cancelled)) {
            rows.stream().filter(row -> row.cancelled).forEach(row -> {
                row.stop = StopReason.CANCELLED;
                finished.add(finish(row));
            });
            fit();
        }
        admit(finished);
        if (!rows.isEmpty()) {
            decode(finished);
        }
        return finished;
    }

    /** Whether no row runs and no unit waits. */
    public boolean idle() {
        return rows.isEmpty() && waiting.isEmpty();
    }

    /** Rows in the running batch. */
    public int running() {
        return rows.size();
    }

    /** Units waiting for admission. */
    public int waiting() {
        return waiting.size();
    }

    /** Rows x (KV columns + 1) of the running batch: what the token budget bounds. */
    public long cost() {
        return rows.isEmpty() ? 0 : rows.size() * (width + 1L);
    }

    /** After a failure: closes every array and forgets every row and waiting unit; the tickets it forgot. */
    public List<Ticket> abandon() {
        Set<Ticket> forgotten = new LinkedHashSet<>();
        rows.forEach(row -> forgotten.add(row.ticket));
        waiting.forEach(unit -> forgotten.add(unit.ticket()));
        waiting.clear();
        release();
        arrays.close();
        arrays = model.manager().newSubManager();
        return new ArrayList<>(forgotten);
    }

    @Override
    public void close() {
        waiting.clear();
        release();
        arrays.close();
    }

    /** Admits waiting units first in, first out, while they fit; prefills them together. */
    private void admit(List<Finished> finished) {
        if (aloneRuns || waiting.isEmpty() || (!rows.isEmpty() && sinceJoin < joinEvery)) {
            return;
        }
        List<BatchRow> joiners = new ArrayList<>();
        int joinColumn = column; // c'
        int remaining = rows.stream().mapToInt(BatchRow::remaining).max().orElse(0); // KV columns needed after c'
        boolean alone = false;
        while (!waiting.isEmpty() && !alone) {
            Unit unit = waiting.peek();
            unit.rows().stream().filter(row -> row.cancelled).forEach(row -> row.stop = StopReason.CANCELLED);
            List<BatchRow> live = unit.rows().stream().filter(row -> row.stop == null).toList();
            boolean empty = rows.isEmpty() && joiners.isEmpty();
            if (unit.alone() && !empty) {
                break;
            }
            int prompt = live.stream().mapToInt(row -> row.prompt.length).max().orElse(0);
            int tokens = live.stream().mapToInt(row -> row.budget).max().orElse(0);
            int at = Math.max(joinColumn, prompt);
            int needed = Math.max(remaining, tokens - 1);
            int count = rows.size() + joiners.size() + live.size();
            if (!empty && !live.isEmpty() && (count * (at + needed + 1L) > tokenBudget || count > maxRows)) {
                break;
            }
            waiting.poll();
            for (BatchRow row : unit.rows()) {
                if (row.stop != null) {
                    finished.add(finish(row)); // cancelled, or no room in the context for a single token
                }
            }
            if (live.isEmpty()) {
                continue;
            }
            joiners.addAll(live);
            joinColumn = at;
            remaining = needed;
            alone = unit.alone();
        }
        if (joiners.isEmpty()) {
            return;
        }
        aloneRuns = alone; // before the prefill: a unit that finishes in it leaves the batch empty
        sinceJoin = 0;
        prefill(joiners, joinColumn, joinColumn + remaining, finished);
    }

    /**
     * Prefills the joiners' prompts right-aligned at column {@code at}, samples their first tokens, and appends them to
     * the batch, whose columns become [0, width).
     */
    private void prefill(List<BatchRow> joiners, int at, int width, List<Finished> finished) {
        int count = joiners.size();
        int prompt = joiners.stream().mapToInt(row -> row.prompt.length).max().orElseThrow();
        int start = at - prompt;
        KvCache joined = new KvCache(arrays, config, count, width);
        float[] logits;
        Map<Integer, float[]> columns = new HashMap<>();
        try {
            long[] tokens = new long[count * prompt]; // (Bj, P): padding is token 0 at position 0
            long[] positions = new long[count * prompt];
            float[] padding = new float[count * at]; // (Bj, 1, 1, 1, c'): MASKED left of each joiner's first token
            for (int j = 0; j < count; j++) {
                BatchRow row = joiners.get(j);
                row.pad = at - row.prompt.length;
                Arrays.fill(padding, j * at, j * at + row.pad, LlamaModel.MASKED);
                for (int c = Math.max(row.pad, start); c < at; c++) {
                    tokens[j * prompt + c - start] = row.prompt[c - row.pad];
                    positions[j * prompt + c - start] = c - row.pad;
                }
            }
            float[] causal = new float[prompt * at]; // (P, c'): the query at column start + i sees keys up to it
            for (int i = 0; i < prompt; i++) {
                Arrays.fill(causal, i * at + start + i + 1, (i + 1) * at, LlamaModel.MASKED);
            }
            synchronized (model) {
                try (NDManager step = arrays.newSubManager()) {
                    SteeringBatch steering = SteeringBatch.build(step, joiners.stream().map(row -> row.steering).toList(),
                            model);
                    SiteHook[] prefillHooks = pooling(steering == null ? null : steering.hooks(), joiners, columns);
                    List<NDResource> lent = new ArrayList<>(model.longLived());
                    lent.addAll(joined.all());
                    step.tempAttachAll(lent.toArray(new NDResource[0]));
                    NDArray mask = step.create(padding, new Shape(count, 1, 1, 1, at))
                            .add(step.create(causal, new Shape(prompt, at))); // (Bj, 1, 1, P, c')
                    Shape shape = new Shape(count, prompt);
                    logits = model.forward(step.create(tokens, shape), step.create(positions, shape), mask, joined,
                            start, prefillHooks, config.nLayers()).toFloatArray(); // (Bj, vocab)
                }
            }
        } catch (RuntimeException e) {
            joined.close();
            throw e;
        }
        sample(joiners, logits, columns, finished);
        if (cache == null) {
            cache = joined;
        } else {
            int shift = at - column;
            cache.reshape(allRows(), -shift, width);
            cache.append(joined);
            rows.forEach(row -> row.pad += shift);
        }
        rows.addAll(joiners);
        column = at;
        this.width = width;
        dirty = true;
        fit();
    }

    /** One decode step: every row feeds its last token at column c. */
    private void decode(List<Finished> finished) {
        if (dirty) {
            rebuild();
        }
        int count = rows.size();
        long[] tokens = new long[count]; // (B, 1)
        long[] positions = new long[count];
        for (int b = 0; b < count; b++) {
            BatchRow row = rows.get(b);
            tokens[b] = row.last();
            positions[b] = column - row.pad;
        }
        float[] logits;
        synchronized (model) {
            try (NDManager step = arrays.newSubManager()) {
                step.tempAttachAll(attach);
                NDArray mask = paddingMask == null ? null
                        : paddingMask.get("..., :{}", column + 1); // (B, 1, 1, 1, c + 1)
                Shape shape = new Shape(count, 1);
                logits = model.forward(step.create(tokens, shape), step.create(positions, shape), mask, cache, column,
                        hooks, config.nLayers()).toFloatArray(); // (B, vocab)
            }
        }
        column++;
        sinceJoin++;
        sample(rows, logits, lastColumns, finished);
        fit();
    }

    /** Samples each running row of a forward (in its order) from its logits; reports those that stopped. */
    private void sample(List<BatchRow> forward, float[] logits, Map<Integer, float[]> columns, List<Finished> finished) {
        int vocab = config.vocabSize();
        for (int b = 0; b < forward.size(); b++) {
            BatchRow row = forward.get(b);
            if (row.stop != null) {
                continue;
            }
            for (int site : row.pooledSites) {
                int siteWidth = SiteHook.point(site).width(config);
                row.pooling.observe(site, Arrays.copyOfRange(columns.get(site), b * siteWidth, (b + 1) * siteWidth));
            }
            boolean emitted = row.sample(logits, b * vocab, vocab, tokenizer);
            if (!row.pooledSites.isEmpty()) {
                row.pooling.emitted(new boolean[] {emitted});
            }
            if (row.stop != null) {
                finished.add(finish(row));
            }
        }
    }

    /**
     * Drops the rows that stopped and the columns no running row needs (left of every row's first token, right of
     * what the rows may still emit).
     */
    private void fit() {
        List<BatchRow> kept = rows.stream().filter(row -> row.stop == null).toList();
        if (kept.isEmpty()) {
            release();
            return;
        }
        int trim = kept.stream().mapToInt(row -> row.pad).min().orElseThrow();
        int needed = column - trim + kept.stream().mapToInt(BatchRow::remaining).max().orElseThrow();
        if (kept.size() == rows.size() && trim == 0 && needed == width) {
            return;
        }
        int[] index = new int[kept.size()];
        for (int b = 0, k = 0; b < rows.size(); b++) {
            if (rows.get(b).stop == null) {
                index[k++] = b;
            }
        }
        cache.reshape(index, trim, needed);
        kept.forEach(row -> row.pad -= trim);
        rows = new ArrayList<>(kept);
        column -= trim;
        width = needed;
        dirty = true;
    }

    /** The padding mask, steering and pooling hooks of the current rows, and what each decode step attaches. */
    private void rebuild() {
        closeDerived();
        int count = rows.size();
        float[] padding = new float[count * width];
        for (int b = 0; b < count; b++) {
            Arrays.fill(padding, b * width, b * width + rows.get(b).pad, LlamaModel.MASKED);
        }
        // adding zeros changes no score: without padding the step skips the mask (a dispatch per layer)
        boolean padded = rows.stream().anyMatch(row -> row.pad > 0);
        paddingMask = padded ? arrays.create(padding, new Shape(count, 1, 1, 1, width)) : null;
        steered = SteeringBatch.build(arrays, rows.stream().map(row -> row.steering).toList(), model);
        hooks = pooling(steered == null ? null : steered.hooks(), rows, lastColumns);
        List<NDResource> lent = new ArrayList<>(model.longLived());
        lent.addAll(cache.all());
        if (paddingMask != null) {
            lent.add(paddingMask);
        }
        if (steered != null) {
            lent.addAll(steered.arrays());
        }
        attach = lent.toArray(new NDResource[0]);
        dirty = false;
    }

    /**
     * The hooks with, at each site some row of {@code forward} pools, the site's own hook (steering) followed by
     * copying the last column of its output into {@code columns}; {@code hooks} itself when none pools.
     */
    private SiteHook[] pooling(SiteHook[] hooks, List<BatchRow> forward, Map<Integer, float[]> columns) {
        Set<Integer> sites = new TreeSet<>();
        forward.forEach(row -> sites.addAll(row.pooledSites));
        if (sites.isEmpty()) {
            return hooks;
        }
        SiteHook[] all = hooks == null ? new SiteHook[config.nLayers() * SiteHook.POINTS] : hooks.clone();
        for (int site : sites) {
            SiteHook own = all[site] == null ? SiteHook.identity() : all[site];
            // copied out now: in generation each layer's arrays are closed with the layer
            all[site] = own.observed(y -> columns.put(site, y.get(new NDIndex(":, {}, :", y.getShape().get(1) - 1))
                    .toType(DataType.FLOAT32, false).toFloatArray()));
        }
        return all;
    }

    private Finished finish(BatchRow row) {
        return new Finished(row.ticket, row.index, row.completion(tokenizer));
    }

    private int[] allRows() {
        int[] index = new int[rows.size()];
        Arrays.setAll(index, b -> b);
        return index;
    }

    /** Forgets every row of the batch and closes its arrays. */
    private void release() {
        closeDerived();
        if (cache != null) {
            cache.close();
            cache = null;
        }
        rows = new ArrayList<>();
        aloneRuns = false;
        column = 0;
        width = 0;
        dirty = false;
    }

    private void closeDerived() {
        if (paddingMask != null) {
            paddingMask.close();
            paddingMask = null;
        }
        if (steered != null) {
            steered.arrays().forEach(NDArray::close);
            steered = null;
        }
        hooks = null;
        attach = null;
        lastColumns.clear();
    }
}
