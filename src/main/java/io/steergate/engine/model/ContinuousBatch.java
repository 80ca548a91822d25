package io.steergate.engine.model;

import java.util.Collection;
import java.util.List;

/**
 * Iteration-level scheduling of one model's generation: rows join a running batch between decode steps (after their
 * own prefill) and leave it when they finish, under a token budget. Single-threaded: the caller drives it with
 * {@link #step()}.
 *
 * <p>CONTRACT STUB (session 7, step 0): the signatures below are what the worker codes against; the engine helper
 * replaces every body. See docs/plans/continuous-batching-and-streaming.md section 1.1.
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

    public ContinuousBatch(LlamaModel model, int tokenBudget, int maxRows) {
        throw new UnsupportedOperationException("stub");
    }

    /** Queues a unit (FIFO); its rows join together. An {@code alone} unit runs with no other row. */
    public Ticket submit(List<RowRequest> unit, boolean alone) {
        throw new UnsupportedOperationException("stub");
    }

    /** A waiting unit is dropped; a running unit's rows leave at the next step with {@link StopReason#CANCELLED}. */
    public void cancel(Ticket ticket) {
        throw new UnsupportedOperationException("stub");
    }

    /** Removes finished rows, admits waiting units that fit (their prefill), runs one decode step; the rows that finished. */
    public List<Finished> step() {
        throw new UnsupportedOperationException("stub");
    }

    public boolean idle() {
        throw new UnsupportedOperationException("stub");
    }

    public int running() {
        throw new UnsupportedOperationException("stub");
    }

    public int waiting() {
        throw new UnsupportedOperationException("stub");
    }

    /** Rows x (KV columns + 1) of the running batch: what the token budget bounds. */
    public long cost() {
        throw new UnsupportedOperationException("stub");
    }

    /** After a failure: closes every array and forgets every row and waiting unit; the tickets it forgot. */
    public List<Ticket> abandon() {
        throw new UnsupportedOperationException("stub");
    }

    @Override
    public void close() {
        throw new UnsupportedOperationException("stub");
    }
}
