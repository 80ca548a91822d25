package io.steergate.worker;

import io.steergate.engine.model.Completion;
import io.steergate.engine.model.ContinuousBatch;
import io.steergate.engine.model.StopReason;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A stand-in decode core for {@link ContinuousJobLoopTest}: each row emits one word per step ("s3 " for token 3 of a
 * steered row, "u3 " of an unsteered one) until its maxTokens; units join first in, first out up to maxRows rows, an
 * alone unit with no other. A unit whose prompt holds "refused" is refused at submission, as a steering that does not
 * fit the model is. A step with a row whose prompt holds "poison" throws, as a kernel fault would, and one with a row
 * whose prompt holds "fatal" throws an Error, as running out of memory would; a row whose
 * prompt holds "held" stops advancing after 3 tokens while {@link #hold} is set.
 */
final class StandInRows implements ContinuousRows {

    /** A unit as submitted, and the step at which it joined (-1: not yet). */
    static final class Unit {
        final long number;
        final List<ContinuousBatch.RowRequest> rows;
        final boolean alone;
        final int[] count;
        final StringBuilder[] text;
        volatile int joinedAtStep = -1;
        boolean cancelled;

        Unit(long number, List<ContinuousBatch.RowRequest> rows, boolean alone) {
            this.number = number;
            this.rows = rows;
            this.alone = alone;
            this.count = new int[rows.size()];
            this.text = new StringBuilder[rows.size()];
            for (int i = 0; i < text.length; i++) {
                text[i] = new StringBuilder();
            }
        }

        String prompt() {
            return rows.get(0).input().prompt();
        }
    }

    final int maxRows;
    volatile boolean hold = true;
    volatile int steps;
    final List<Unit> submitted = new CopyOnWriteArrayList<>();
    final List<Long> cancelled = new CopyOnWriteArrayList<>();
    private final Map<Long, Unit> waiting = new LinkedHashMap<>();
    private final Map<Long, Unit> running = new LinkedHashMap<>();
    private long next = 1;

    StandInRows(int maxRows) {
        this.maxRows = maxRows;
    }

    @Override
    public long submit(List<ContinuousBatch.RowRequest> rows, boolean alone) {
        if (rows.get(0).input().prompt().contains("refused")) {
            throw new IllegalArgumentException("the row's steering does not fit the model");
        }
        Unit unit = new Unit(next++, rows, alone);
        submitted.add(unit);
        waiting.put(unit.number, unit);
        return unit.number;
    }

    @Override
    public boolean cancel(long number) {
        cancelled.add(number);
        if (waiting.remove(number) != null) {
            return true;
        }
        Unit unit = running.get(number);
        if (unit != null) {
            unit.cancelled = true;
        }
        return false;
    }

    @Override
    public List<Done> step() {
        List<Done> done = new ArrayList<>();
        for (Iterator<Unit> it = running.values().iterator(); it.hasNext(); ) {
            Unit unit = it.next();
            if (unit.cancelled) {
                it.remove();
                for (int r = 0; r < unit.rows.size(); r++) {
                    done.add(finished(unit, r, StopReason.CANCELLED));
                }
            }
        }
        admit();
        if (running.values().stream().anyMatch(unit -> unit.prompt().contains("poison"))) {
            throw new IllegalStateException("kernel fault");
        }
        if (running.values().stream().anyMatch(unit -> unit.prompt().contains("fatal"))) {
            throw new OutOfMemoryError("staged");
        }
        for (Iterator<Unit> it = running.values().iterator(); it.hasNext(); ) {
            Unit unit = it.next();
            boolean allDone = true;
            for (int r = 0; r < unit.rows.size(); r++) {
                ContinuousBatch.RowRequest row = unit.rows.get(r);
                if (unit.count[r] >= row.input().maxTokens()) {
                    continue;
                }
                if (!(hold && unit.prompt().contains("held") && unit.count[r] >= 3)) {
                    String word = (row.input().steering() == null ? "u" : "s") + unit.count[r] + " ";
                    unit.text[r].append(word);
                    if (row.sink() != null) {
                        row.sink().emitted(unit.count[r], 1, word);
                    }
                    unit.count[r]++;
                }
                allDone &= unit.count[r] >= row.input().maxTokens();
            }
            if (allDone) {
                it.remove();
                for (int r = 0; r < unit.rows.size(); r++) {
                    done.add(finished(unit, r, StopReason.MAX_TOKENS));
                }
            }
        }
        steps++;
        return done;
    }

    private void admit() {
        for (Iterator<Unit> it = waiting.values().iterator(); it.hasNext(); ) {
            Unit unit = it.next();
            int rows = running.values().stream().mapToInt(u -> u.rows.size()).sum();
            boolean aloneRuns = running.values().stream().anyMatch(u -> u.alone);
            if (aloneRuns || (unit.alone && !running.isEmpty()) || (rows > 0 && rows + unit.rows.size() > maxRows)) {
                return;
            }
            it.remove();
            unit.joinedAtStep = steps;
            running.put(unit.number, unit);
        }
    }

    private static Done finished(Unit unit, int row, StopReason stop) {
        return new Done(unit.number, row, new Completion(unit.text[row].toString(), unit.rows.get(row).promptTokens().length,
                unit.count[row], stop));
    }

    @Override
    public boolean idle() {
        return waiting.isEmpty() && running.isEmpty();
    }

    @Override
    public int running() {
        return running.values().stream().mapToInt(u -> u.rows.size()).sum();
    }

    @Override
    public void abandon() {
        waiting.clear();
        running.clear();
    }

    @Override
    public void close() {
        abandon();
    }
}
