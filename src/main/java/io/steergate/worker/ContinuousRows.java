package io.steergate.worker;

import io.steergate.engine.model.Completion;
import io.steergate.engine.model.ContinuousBatch;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The decode core as {@link ContinuousJobLoop} drives it, with units named by number: {@link ContinuousBatch} in
 * service ({@link #of}), a stand-in in tests. Single-threaded, like the batch.
 */
interface ContinuousRows extends AutoCloseable {

    /** A row that finished in a step: its unit's number, its index within the unit, its completion. */
    record Done(long unit, int row, Completion completion) {}

    /** Queues a unit (FIFO); its rows join the running ones together. An {@code alone} unit runs with no other row. */
    long submit(List<ContinuousBatch.RowRequest> rows, boolean alone);

    /**
     * Stops a unit. Returns true when it was still waiting: it is dropped and nothing more comes of it; false when it
     * runs: its rows finish at the next step with what they generated (StopReason.CANCELLED).
     */
    boolean cancel(long unit);

    /** Removes finished rows, admits waiting units that fit, runs one decode step; the rows that finished in it. */
    List<Done> step();

    boolean idle();

    /** Rows in the running batch. */
    int running();

    /** After a failure: forgets every row and waiting unit. */
    void abandon();

    @Override
    void close();

    /**
     * The batch behind numbers. A unit is waiting while it is among the last {@link ContinuousBatch#waiting()} units
     * not yet finished: admission is first in, first out, so the units still waiting are the latest ones.
     */
    static ContinuousRows of(ContinuousBatch batch) {
        return new ContinuousRows() {
            /** Units submitted and not yet finished, in submission order, with their rows still to finish. */
            private final Map<Long, ContinuousBatch.Ticket> tickets = new LinkedHashMap<>();
            private final Map<Long, Integer> unfinished = new LinkedHashMap<>();

            @Override
            public long submit(List<ContinuousBatch.RowRequest> rows, boolean alone) {
                ContinuousBatch.Ticket ticket = batch.submit(rows, alone);
                tickets.put(ticket.id(), ticket);
                unfinished.put(ticket.id(), rows.size());
                return ticket.id();
            }

            @Override
            public boolean cancel(long unit) {
                ContinuousBatch.Ticket ticket = tickets.get(unit);
                if (ticket == null) {
                    return true;
                }
                boolean waiting = waitingUnits().contains(unit);
                batch.cancel(ticket);
                if (waiting) {
                    tickets.remove(unit);
                    unfinished.remove(unit);
                }
                return waiting;
            }

            private List<Long> waitingUnits() {
                List<Long> units = new ArrayList<>(tickets.keySet());
                return units.subList(Math.max(0, units.size() - batch.waiting()), units.size());
            }

            @Override
            public List<Done> step() {
                List<ContinuousBatch.Finished> finished = batch.step();
                List<Done> done = new ArrayList<>(finished.size());
                for (ContinuousBatch.Finished row : finished) {
                    long unit = row.ticket().id();
                    done.add(new Done(unit, row.row(), row.completion()));
                    if (unfinished.merge(unit, -1, Integer::sum) <= 0) {
                        unfinished.remove(unit);
                        tickets.remove(unit);
                    }
                }
                return done;
            }

            @Override
            public boolean idle() {
                return batch.idle();
            }

            @Override
            public int running() {
                return batch.running();
            }

            @Override
            public void abandon() {
                batch.abandon();
                tickets.clear();
                unfinished.clear();
            }

            @Override
            public void close() {
                batch.close();
            }
        };
    }
}
