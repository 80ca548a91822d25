package io.steergate.engine.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A {@link ContinuousBatch}'s forwards on {@link LoopDecoder}: each row holds its own keys and values from its first
 * token on, so joining, leaving and trimming move no memory, and the batch's columns are only its schedule.
 */
final class LoopForward implements BatchForward {

    private final LoopDecoder decoder;
    private List<LoopDecoder.Row> running = new ArrayList<>(); // in the batch's row order
    private List<LoopDecoder.Row> joining = List.of(); // prefilled, not yet joined

    LoopForward(LoopDecoder decoder) {
        this.decoder = decoder;
    }

    @Override
    public float[] prefill(List<BatchRow> joiners, int at, int width, Map<Integer, float[]> columns) {
        List<LoopDecoder.Row> rows = new ArrayList<>(joiners.size());
        List<int[]> prompts = new ArrayList<>(joiners.size());
        for (BatchRow row : joiners) {
            // the last sampled token is never fed: prompt + budget - 1 positions at most
            rows.add(decoder.newRow(row.prompt.length + Math.max(row.budget - 1, 0), row.steering));
            prompts.add(row.prompt);
        }
        float[] logits = decoder.forward(rows, prompts, pooledSites(joiners), columns);
        joining = rows;
        return logits;
    }

    @Override
    public void join(int runningRows, int shift, int width) {
        running.addAll(joining);
        joining = List.of();
    }

    @Override
    public float[] decode(List<BatchRow> rows, int column, Map<Integer, float[]> columns) {
        List<int[]> tokens = new ArrayList<>(rows.size());
        for (BatchRow row : rows) {
            tokens.add(new int[] {(int) row.last()});
        }
        return decoder.forward(running, tokens, pooledSites(rows), columns);
    }

    @Override
    public void keep(int[] index, int trim, int width) {
        List<LoopDecoder.Row> kept = new ArrayList<>(index.length);
        for (int b : index) {
            kept.add(running.get(b));
        }
        running = kept;
    }

    @Override
    public void release() {
        running = new ArrayList<>();
        joining = List.of();
    }

    @Override
    public void reset() {
        release();
    }

    @Override
    public void close() {
        release();
    }

    private static Set<Integer> pooledSites(List<BatchRow> rows) {
        Set<Integer> sites = new TreeSet<>();
        rows.forEach(row -> sites.addAll(row.pooledSites));
        return sites;
    }
}
