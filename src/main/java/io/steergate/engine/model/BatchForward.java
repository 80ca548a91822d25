package io.steergate.engine.model;

import java.util.List;
import java.util.Map;

/**
 * Where a {@link ContinuousBatch}'s forwards run and its rows' keys and values live; the batch keeps the schedule
 * (rows, columns, budget) and tells this what changed. Two homes: {@link LoopForward} (plain Java on the CPU) and
 * {@link NdArrayForward} (DJL NDArrays: a GPU, or the CPU when asked). A row generates the same tokens in either up to
 * float rounding, and within one the same bits whatever batch it is in.
 */
interface BatchForward extends AutoCloseable {

    /**
     * Prefills the joiners' prompts right-aligned at column {@code at} (their {@link BatchRow#pad} set) into keys and values
     * {@code width} columns wide, which stay aside until {@link #join}.
     *
     * @param columns filled with, per site some joiner pools, the site's output at each joiner's last prompt token
     *     (joiners x width)
     * @return the logits (joiners x vocab) of each joiner's last prompt token
     */
    float[] prefill(List<BatchRow> joiners, int at, int width, Map<Integer, float[]> columns);

    /**
     * Appends the joiners of the last prefill after the {@code running} rows, whose columns move right by
     * {@code shift}; the batch is then {@code width} columns wide.
     */
    void join(int running, int shift, int width);

    /**
     * One decode step: each row feeds its last token at column {@code column}.
     *
     * @param columns filled as in {@link #prefill}, for the rows
     * @return the logits (rows x vocab)
     */
    float[] decode(List<BatchRow> rows, int column, Map<Integer, float[]> columns);

    /** Keeps the rows {@code index} (ascending) and the columns [trim, trim + width). */
    void keep(int[] index, int trim, int width);

    /** Forgets every row. */
    void release();

    /** After a failure: forgets every row and frees what a failed forward may have left. */
    void reset();

    @Override
    void close();
}
