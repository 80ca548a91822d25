package io.steergate.engine.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Drives a {@link ContinuousBatch} over rows that arrive at given steps, each its own unit: what continuous-batching
 * tests compare with the rows generated alone.
 */
public final class StaggeredRun {

    private StaggeredRun() {
    }

    /** Row i is submitted just before step {@code steps[i]}; the completions, by row. */
    public static List<Completion> run(LlamaModel model, DecodePath path, List<GenerationInput> rows, int[] steps) {
        return run(model, path, Integer.MAX_VALUE, Integer.MAX_VALUE, rows, steps, null, batch -> { });
    }

    /**
     * Row i, pooling {@code pooled.get(i)} (null: none), is submitted just before step {@code steps[i]} to a batch of
     * that budget; {@code afterStep} sees the batch after every step.
     */
    public static List<Completion> run(LlamaModel model, DecodePath path, int tokenBudget, int maxRows,
            List<GenerationInput> rows, int[] steps, List<List<Integer>> pooled, Consumer<ContinuousBatch> afterStep) {
        Completion[] out = new Completion[rows.size()];
        Map<ContinuousBatch.Ticket, Integer> rowOf = new HashMap<>();
        int last = Arrays.stream(steps).max().orElse(0);
        try (ContinuousBatch batch = new ContinuousBatch(model, tokenBudget, maxRows, path)) {
            for (int step = 0; step <= last || !batch.idle(); step++) {
                for (int i = 0; i < rows.size(); i++) {
                    if (steps[i] == step) {
                        GenerationInput input = rows.get(i);
                        ContinuousBatch.RowRequest request = new ContinuousBatch.RowRequest(input,
                                model.tokenizer().encode(input.prompt()), pooled == null ? null : pooled.get(i), null);
                        rowOf.put(batch.submit(List.of(request), false), i);
                    }
                }
                for (ContinuousBatch.Finished done : batch.step()) {
                    out[rowOf.get(done.ticket())] = done.completion();
                }
                afterStep.accept(batch);
            }
        }
        return new ArrayList<>(Arrays.asList(out));
    }
}
