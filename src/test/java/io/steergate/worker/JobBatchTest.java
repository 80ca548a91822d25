package io.steergate.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.steergate.engine.model.Completion;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.StopReason;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.messages.GenerationResult.Status;
import io.steergate.messages.Job;
import io.steergate.messages.JobResult;
import io.steergate.messages.ModelRef;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;

/** Row isolation of one batch, with a stand-in for the model: one failing row fails only itself. */
class JobBatchTest {

    static final ModelRef MODEL = new ModelRef("stories260K", "sha256:test");
    static final JobBatch.PlanResolver NO_STEERING = plan -> SteeringPlan.NONE;

    /** Completes every row with "done: prompt"; a batch holding a prompt with "poison" throws, as a kernel fault would. */
    static final class StandInModel implements JobBatch.RowGenerator {
        final List<List<String>> calls = new ArrayList<>();
        final List<String> counted = new ArrayList<>();

        @Override
        public int countPromptTokens(String prompt) {
            counted.add(prompt);
            return prompt.length();
        }

        /** As a tokenizer whose longest piece is 4 characters would bound it. */
        @Override
        public int minPromptTokens(String prompt) {
            return (prompt.length() + 3) / 4;
        }

        @Override
        public List<Completion> generate(List<GenerationInput> rows) {
            calls.add(rows.stream().map(GenerationInput::prompt).toList());
            if (rows.stream().anyMatch(row -> row.prompt().contains("poison"))) {
                throw new IllegalStateException("kernel fault\nin row with poison");
            }
            return rows.stream().map(row -> new Completion("done: " + row.prompt(), row.prompt().length(), 2, StopReason.MAX_TOKENS)).toList();
        }
    }

    static Job job(String id, String prompt) {
        return job(id, prompt, 1.0);
    }

    static Job job(String id, String prompt, double topP) {
        return new Job(id, "acme", "stories260K", prompt, 8, 0.0, topP, 1L, null, List.of(), 0L);
    }

    @Test
    void aRowThatFailsInGenerationFailsAloneAndTheOtherRowsComplete() {
        StandInModel model = new StandInModel();

        JobBatch.Outcome outcome = JobBatch.run(List.of(job("a", "first"), job("b", "poison"), job("c", "third")),
                model, MODEL, 256, NO_STEERING, 0L);

        List<JobResult> results = outcome.results();
        assertEquals(List.of("a", "b", "c"), results.stream().map(JobResult::requestId).toList());
        assertEquals(Status.COMPLETED, results.get(0).status());
        assertEquals("done: first", results.get(0).text());
        assertEquals(Status.FAILED, results.get(1).status());
        assertEquals("GENERATION_FAILED", results.get(1).error().code());
        assertEquals("generation failed: IllegalStateException: kernel fault\\u000ain row with poison", results.get(1).error().message());
        assertNull(results.get(1).text());
        assertEquals(Status.COMPLETED, results.get(2).status());
        assertEquals("done: third", results.get(2).text());
        // the batch once, then each row alone
        assertEquals(List.of(List.of("first", "poison", "third"), List.of("first"), List.of("poison"), List.of("third")), model.calls);
        assertEquals(3, outcome.retriedAlone());
        assertEquals(4, outcome.generatedTokens());
    }

    @Test
    void aJobThatCannotBePreparedFailsAloneAndTheBatchRunsOnceWithoutIt() {
        StandInModel model = new StandInModel();

        JobBatch.Outcome outcome = JobBatch.run(List.of(job("a", "first"), job("forged", "x", 0.0), job("c", "third")),
                model, MODEL, 256, NO_STEERING, 0L);

        assertEquals(Status.FAILED, outcome.results().get(1).status());
        assertEquals("GENERATION_FAILED", outcome.results().get(1).error().code());
        assertEquals("job cannot be generated: IllegalArgumentException: topP must be in (0, 1], got 0.0",
                outcome.results().get(1).error().message());
        assertEquals(Status.COMPLETED, outcome.results().get(0).status());
        assertEquals(Status.COMPLETED, outcome.results().get(2).status());
        assertEquals(List.of(List.of("first", "third")), model.calls);
        assertEquals(0, outcome.retriedAlone());
        assertEquals(Set.of("forged"), outcome.unfit(), "the caller dead-letters its record");
    }

    @Test
    void aTransientPlanFailureIsThrownForTheCallerToWaitOutAndAnyOtherFailsOnlyItsRow() {
        StandInModel model = new StandInModel();
        RuntimeException registryDown = new IllegalStateException("reading the registry failed",
                new PSQLException("Connection to localhost:5432 refused", PSQLState.CONNECTION_UNABLE_TO_CONNECT));

        RuntimeException thrown = assertThrows(RuntimeException.class, () -> JobBatch.run(List.of(job("a", "first")), model,
                MODEL, 256, plan -> { throw registryDown; }, 0L));
        assertSame(registryDown, thrown);
        assertEquals(List.of(), model.calls);

        JobBatch.Outcome outcome = JobBatch.run(List.of(job("a", "first"), job("b", "second")), model, MODEL, 256,
                plan -> { throw new IllegalArgumentException("strength 5.0 is out of range"); }, 0L);
        assertEquals(List.of(Status.FAILED, Status.FAILED), outcome.results().stream().map(JobResult::status).toList());
        assertEquals("job cannot be generated: IllegalArgumentException: strength 5.0 is out of range",
                outcome.results().get(0).error().message());
        assertEquals(Set.of("a", "b"), outcome.unfit());
    }

    @Test
    void aPromptLongerThanTheContextIsRejectedWithoutGenerating() {
        StandInModel model = new StandInModel();

        JobBatch.Outcome outcome = JobBatch.run(List.of(job("long", "x".repeat(300)), job("b", "fits")), model, MODEL, 256,
                NO_STEERING, 0L);

        assertEquals(Status.REJECTED, outcome.results().get(0).status());
        assertEquals("PROMPT_TOO_LONG", outcome.results().get(0).error().code());
        assertEquals(List.of(List.of("fits")), model.calls);
    }

    @Test
    void aPromptThatCannotFitByItsLengthAloneIsRefusedBeforeItIsTokenized() {
        StandInModel model = new StandInModel();

        JobBatch.Outcome outcome = JobBatch.run(List.of(job("huge", "x".repeat(2_000)), job("b", "fits")), model, MODEL, 256,
                NO_STEERING, 0L);

        assertEquals(Status.REJECTED, outcome.results().get(0).status());
        assertEquals("prompt: at least 500 tokens leave no room in the model's context of 256 tokens",
                outcome.results().get(0).error().message());
        assertEquals(List.of("fits"), model.counted);
    }
}
