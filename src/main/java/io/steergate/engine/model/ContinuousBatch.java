package io.steergate.engine.model;

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
 * <p>The columns are the schedule; where the forwards run and the keys and values live is a {@link BatchForward}
 * ({@link DecodePath}): on the NDArray path the cache has exactly this layout and the model is locked for each forward;
 * on the loops each row keeps its own keys and values, and nothing is locked.
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
    private final BatchForward forward;
    private int column; // c: where every row feeds its next token
    private int width; // KV columns
    private final Map<Integer, float[]> lastColumns = new HashMap<>(); // pooled site -> the step's (B * width)

    /** A submitted unit waiting for admission. */
    private record Unit(Ticket ticket, List<BatchRow> rows, boolean alone) {
    }

    /**
     * @param tokenBudget the most rows x (KV columns + 1) the running batch may cost when a unit joins it
     * @param maxRows the most rows that may run together
     */
    public ContinuousBatch(LlamaModel model, int tokenBudget, int maxRows) {
        this(model, tokenBudget, maxRows, DecodePath.AUTO);
    }

    /**
     * @param path where the forwards run; {@link DecodePath#LOOPS} needs a model on the CPU
     * @throws IllegalArgumentException when {@code path} is LOOPS and the model is on a GPU
     */
    public ContinuousBatch(LlamaModel model, int tokenBudget, int maxRows, DecodePath path) {
        if (tokenBudget < 1 || maxRows < 1) {
            throw new IllegalArgumentException("token budget and rows must be at least 1, got " + tokenBudget
                    + " and " + maxRows);
        }
        this.model = model;
        this.config = model.config();
        this.tokenizer = model.tokenizer();
        this.tokenBudget = tokenBudget;
        this.maxRows = maxRows;
        this.forward = switch (path) {
            case AUTO -> model.loops() != null ? new LoopForward(model.loops()) : new NdArrayForward(model);
            case LOOPS -> {
                if (model.loops() == null) {
                    throw new IllegalArgumentException("decode path LOOPS runs on the CPU; the model is on "
                            + model.device());
                }
                yield new LoopForward(model.loops());
            }
            case NDARRAY -> new NdArrayForward(model);
        };
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
        SteeringBatch.check(steering, config);
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
        forward.reset();
        return new ArrayList<>(forgotten);
    }

    @Override
    public void close() {
        waiting.clear();
        release();
        forward.close();
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
        joiners.forEach(row -> row.pad = at - row.prompt.length);
        Map<Integer, float[]> columns = new HashMap<>();
        float[] logits = forward.prefill(joiners, at, width, columns);
        sample(joiners, logits, columns, finished);
        int shift = at - column;
        forward.join(rows.size(), shift, width);
        rows.forEach(row -> row.pad += shift);
        rows.addAll(joiners);
        column = at;
        this.width = width;
        fit();
    }

    /** One decode step: every row feeds its last token at column c. */
    private void decode(List<Finished> finished) {
        float[] logits = forward.decode(rows, column, lastColumns); // (B, vocab)
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
        forward.keep(index, trim, needed);
        kept.forEach(row -> row.pad -= trim);
        rows = new ArrayList<>(kept);
        column -= trim;
        width = needed;
    }

    private Finished finish(BatchRow row) {
        return new Finished(row.ticket, row.index, row.completion(tokenizer));
    }

    /** Forgets every row of the batch and closes its arrays. */
    private void release() {
        forward.release();
        rows = new ArrayList<>();
        aloneRuns = false;
        column = 0;
        width = 0;
        lastColumns.clear();
    }
}
