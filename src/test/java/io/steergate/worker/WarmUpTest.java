package io.steergate.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.model.ContinuousBatch;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.testing.TestModel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The worker's warm-up on stories260K: it leaves nothing behind that changes a job's tokens, covers the shapes jobs
 * run, ends when its budget is spent or the worker stops (mid-round too), and its budget is checked at every step.
 * Time is a clock that moves 1 ms each time it is read, so that rounds and stops do not depend on the machine's speed.
 */
class WarmUpTest {

    private static final int MAX_ROWS = 16;
    private static final Duration NEVER_STOPS = Duration.ofDays(1);
    private static LlamaModel model;
    private static JobBatch.RowGenerator rows;
    private static WarmUp warmUp;

    @BeforeAll
    static void load() throws Exception {
        model = TestModel.load();
        rows = JobBatch.RowGenerator.of(new Generator(model));
        warmUp = new WarmUp(rows, model.config(), model.fingerprint(), MAX_ROWS);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** A clock that moves 1 ms at each read. */
    private static LongSupplier ticking() {
        AtomicLong reads = new AtomicLong();
        return () -> reads.getAndIncrement() * 1_000_000L;
    }

    private static ContinuousRows batch() {
        return ContinuousRows.of(new ContinuousBatch(model, 16384, MAX_ROWS));
    }

    /** A greedy and a sampled row, the sampled one steered by one of the warm-up's own plans, run to their end. */
    private static List<String> job(ContinuousRows batch) {
        GenerationInput greedy = GenerationInput.greedy("Once upon a time", 24);
        GenerationInput sampled = new GenerationInput("The cat sat", 24, 0.9f, 0.9f, 7L)
                .withSteering(steered(warmUp.units(0)));
        List<ContinuousBatch.RowRequest> unit = new ArrayList<>();
        for (GenerationInput input : List.of(greedy, sampled)) {
            unit.add(new ContinuousBatch.RowRequest(input, rows.encodePrompt(input.prompt()), Set.of(), null));
        }
        batch.submit(unit, false);
        String[] text = new String[2];
        while (!batch.idle()) {
            batch.step().forEach(done -> text[done.row()] = done.completion().text());
        }
        return List.of(text);
    }

    private static SteeringPlan steered(List<List<GenerationInput>> units) {
        return units.stream().flatMap(List::stream).map(input -> input.steering()).filter(s -> s instanceof SteeringPlan)
                .map(s -> (SteeringPlan) s).filter(plan -> !plan.isEmpty()).findFirst().orElseThrow();
    }

    @Test
    void aJobAfterTheWarmUpGeneratesTheTokensItGeneratesOnAFreshBatch() {
        List<String> fresh;
        try (ContinuousRows cold = batch()) {
            fresh = job(cold);
        }
        try (ContinuousRows warmed = batch()) {
            WarmUp.Result result = warmUp.continuous(warmed, Duration.ofMillis(400), () -> false, ticking());

            assertTrue(result.rounds() >= 2, "the budget covers more than one round: " + result);
            assertTrue(result.tokens() > 0, result.toString());
            assertTrue(warmed.idle(), "no made-up row is left in the batch");
            assertEquals(fresh, job(warmed));
        }
    }

    @Test
    void theBudgetIsCheckedAtEveryStepAndRowsStillRunningAreDropped() {
        try (ContinuousRows batch = batch()) {
            // a round of 16 rows takes more than 20 steps (rows of 24 tokens or more), so 20 reads end it mid-round
            WarmUp.Result result = warmUp.continuous(batch, Duration.ofMillis(20), () -> false, ticking());

            assertEquals(1, result.rounds(), result.toString());
            assertTrue(batch.idle(), "the rows of the round cut short are abandoned");
            assertTrue(result.millis() <= 21, "the budget is overrun by at most one step: " + result);
        }
    }

    @Test
    void aWorkerThatStopsEndsItsWarmUpAtTheNextStep() {
        try (ContinuousRows batch = batch()) {
            AtomicLong checks = new AtomicLong();
            WarmUp.Result result = warmUp.continuous(batch, NEVER_STOPS, () -> checks.incrementAndGet() > 5, ticking());

            assertEquals(1, result.rounds(), result.toString());
            assertTrue(result.tokens() <= 5 * MAX_ROWS, "stopped after 5 steps: " + result);
            assertTrue(batch.idle(), "its rows are abandoned");
        }
        try (ContinuousRows batch = batch()) {
            WarmUp.Result result = warmUp.continuous(batch, NEVER_STOPS, () -> true, ticking());

            assertEquals(0, result.rounds());
            assertEquals(0, result.tokens());
            assertTrue(batch.idle(), "nothing was submitted");
        }
    }

    @Test
    void runToCompletionBatchesWarmUpToo() {
        WarmUp.Result result = warmUp.batches(Duration.ofMillis(3), () -> false, ticking());

        assertTrue(result.rounds() >= 1, result.toString());
        assertTrue(result.tokens() > 0, result.toString());
    }

    @Test
    void aZeroBudgetRunsNothing() {
        try (ContinuousRows batch = batch()) {
            WarmUp.Result result = warmUp.continuous(batch, Duration.ZERO, () -> false, ticking());

            assertEquals(new WarmUp.Result(0, 0, 0, 0, 0), result);
        }
    }

    @Test
    void aRoundCoversTheShapesJobsRun() {
        List<List<GenerationInput>> units = warmUp.units(0);

        assertEquals(List.of(1, 2, 4, 8, 1), units.stream().map(List::size).toList(), "1 to many rows, maxRows in all");
        List<GenerationInput> all = units.stream().flatMap(List::stream).toList();
        assertTrue(all.stream().anyMatch(input -> input.temperature() == 0f), "greedy rows");
        assertTrue(all.stream().anyMatch(input -> input.temperature() > 0f && input.topP() < 1f), "sampled with top-p");
        Set<Object> steerings = new HashSet<>();
        all.forEach(input -> steerings.add(input.steering()));
        assertEquals(4, steerings.size(), "unsteered rows and rows of each of the three plans: " + steerings);
        assertTrue(all.stream().map(GenerationInput::prompt).distinct().count() > 1, "prompts of several lengths");
        assertFalse(units.equals(warmUp.units(1)), "rounds vary which row gets which prompt, plan and length");
    }
}
