package io.steergate.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.model.Completion;
import io.steergate.engine.model.CountingTokenizer;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.StopReason;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.messages.GenerationResult.Status;
import io.steergate.messages.Job;
import io.steergate.messages.JobResult;
import io.steergate.messages.ModelRef;
import io.steergate.testing.TestModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;

/**
 * One batch, with a stand-in for the model (and once with the served model): one failing row fails only itself, each
 * prompt is tokenized once, and rows are generated in groups within the token budget.
 */
class JobBatchTest {

    static final ModelRef MODEL = new ModelRef("stories260K", "sha256:test");
    static final JobBatch.Limits LIMITS = new JobBatch.Limits(256, 32 * 256);
    static final JobBatch.PlanResolver NO_STEERING = plan -> SteeringPlan.NONE;

    /**
     * Completes every unsteered row with "done: prompt" (2 tokens) and every steered row with "steered: prompt" (5
     * tokens); a batch holding a prompt with "poison" throws, as a kernel fault would, and so does a batch holding an
     * unsteered row of a prompt with "brittle".
     */
    static final class StandInModel implements JobBatch.RowGenerator {
        final List<List<String>> calls = new ArrayList<>();
        final List<List<GenerationInput>> inputs = new ArrayList<>();
        final List<String> counted = new ArrayList<>();

        final List<List<int[]>> tokensGiven = new ArrayList<>();
        final List<int[]> encoded = new ArrayList<>();

        /** One token per character. */
        @Override
        public int[] encodePrompt(String prompt) {
            counted.add(prompt);
            int[] tokens = new int[prompt.length()];
            encoded.add(tokens);
            return tokens;
        }

        /** As a tokenizer whose longest piece is 4 characters would bound it. */
        @Override
        public int minPromptTokens(String prompt) {
            return (prompt.length() + 3) / 4;
        }

        @Override
        public List<Completion> generate(List<GenerationInput> rows, List<int[]> promptTokens) {
            calls.add(rows.stream().map(GenerationInput::prompt).toList());
            inputs.add(rows);
            tokensGiven.add(promptTokens);
            if (rows.stream().anyMatch(row -> row.prompt().contains("poison"))) {
                throw new IllegalStateException("kernel fault\nin row with poison");
            }
            if (rows.stream().anyMatch(row -> row.steering() == null && row.prompt().contains("brittle"))) {
                throw new IllegalStateException("kernel fault in an unsteered row");
            }
            return rows.stream().map(row -> row.steering() == null
                    ? new Completion("done: " + row.prompt(), row.prompt().length(), 2, StopReason.MAX_TOKENS)
                    : new Completion("steered: " + row.prompt(), row.prompt().length(), 5, StopReason.MAX_TOKENS)).toList();
        }
    }

    static Job job(String id, String prompt) {
        return job(id, prompt, 1.0);
    }

    static Job job(String id, String prompt, double topP) {
        return new Job(id, "acme", "stories260K", prompt, 8, 0.0, topP, 1L, null, List.of(), 0L, false);
    }

    @Test
    void aRowThatFailsInGenerationFailsAloneAndTheOtherRowsComplete() {
        StandInModel model = new StandInModel();

        JobBatch.Outcome outcome = JobBatch.run(List.of(job("a", "first"), job("b", "poison"), job("c", "third")),
                model, MODEL, LIMITS, NO_STEERING, 0L);

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
                model, MODEL, LIMITS, NO_STEERING, 0L);

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
    void aTopPUnderFloatsSmallestValueIsTheTopTokenNotAForgedJob() {
        StandInModel model = new StandInModel();

        // the gateway accepts any topP in (0, 1]; 1e-50 as a float is 0, which the input refuses
        JobBatch.Outcome outcome = JobBatch.run(List.of(job("tiny", "first", 1e-50)), model, MODEL, LIMITS, NO_STEERING, 0L);

        assertEquals(Status.COMPLETED, outcome.results().get(0).status());
        assertEquals(Set.of(), outcome.unfit(), "nothing dead-lettered");
        assertEquals(Float.MIN_VALUE, model.inputs.get(0).get(0).topP());
        assertEquals(0.5f, JobBatch.nucleus(0.5));
        assertEquals(0f, JobBatch.nucleus(0.0), "zero stays zero, for the input's check to refuse");
    }

    @Test
    void aTransientPlanFailureIsThrownForTheCallerToWaitOutAndAnyOtherFailsOnlyItsRow() {
        StandInModel model = new StandInModel();
        RuntimeException registryDown = new IllegalStateException("reading the registry failed",
                new PSQLException("Connection to localhost:5432 refused", PSQLState.CONNECTION_UNABLE_TO_CONNECT));

        RuntimeException thrown = assertThrows(RuntimeException.class, () -> JobBatch.run(List.of(job("a", "first")), model,
                MODEL, LIMITS, plan -> { throw registryDown; }, 0L));
        assertSame(registryDown, thrown);
        assertEquals(List.of(), model.calls);

        JobBatch.Outcome outcome = JobBatch.run(List.of(job("a", "first"), job("b", "second")), model, MODEL, LIMITS,
                plan -> { throw new IllegalArgumentException("strength 5.0 is out of range"); }, 0L);
        assertEquals(List.of(Status.FAILED, Status.FAILED), outcome.results().stream().map(JobResult::status).toList());
        assertEquals("job cannot be generated: IllegalArgumentException: strength 5.0 is out of range",
                outcome.results().get(0).error().message());
        assertEquals(Set.of("a", "b"), outcome.unfit());
    }

    @Test
    void aPromptLongerThanTheContextIsRejectedWithoutGenerating() {
        StandInModel model = new StandInModel();

        JobBatch.Outcome outcome = JobBatch.run(List.of(job("long", "x".repeat(300)), job("b", "fits")), model, MODEL, LIMITS,
                NO_STEERING, 0L);

        assertEquals(Status.REJECTED, outcome.results().get(0).status());
        assertEquals("PROMPT_TOO_LONG", outcome.results().get(0).error().code());
        assertEquals(List.of(List.of("fits")), model.calls);
    }

    @Test
    void aPromptThatCannotFitByItsLengthAloneIsRefusedBeforeItIsTokenized() {
        StandInModel model = new StandInModel();

        JobBatch.Outcome outcome = JobBatch.run(List.of(job("huge", "x".repeat(2_000)), job("b", "fits")), model, MODEL, LIMITS,
                NO_STEERING, 0L);

        assertEquals(Status.REJECTED, outcome.results().get(0).status());
        assertEquals("prompt: at least 500 tokens leave no room in the model's context of 256 tokens",
                outcome.results().get(0).error().message());
        assertEquals(List.of("fits"), model.counted);
    }

    @Test
    void eachPromptIsTokenizedOnceAndThoseTokensAreWhatIsGenerated() {
        StandInModel model = new StandInModel();

        JobBatch.Outcome outcome = JobBatch.run(List.of(job("a", "first"), job("b", "second"), job("huge", "x".repeat(2_000))),
                model, MODEL, LIMITS, NO_STEERING, 0L);

        assertEquals(List.of(Status.COMPLETED, Status.COMPLETED, Status.REJECTED),
                outcome.results().stream().map(JobResult::status).toList());
        assertEquals(List.of("first", "second"), model.counted);
        assertEquals(1, model.tokensGiven.size());
        assertSame(model.encoded.get(0), model.tokensGiven.get(0).get(0));
        assertSame(model.encoded.get(1), model.tokensGiven.get(0).get(1));
    }

    @Test
    void onTheServedModelEachPromptIsTokenizedOnce() throws Exception {
        try (CountingTokenizer.Counted counted = CountingTokenizer.load(TestModel.dir())) {
            Generator generator = new Generator(counted.model());
            List<Job> jobs = List.of(job("a", "Once upon a time"), job("b", "The dog"), job("c", "Lily and Tom went to the park"),
                    job("huge", "x".repeat(8_000)));

            JobBatch.Outcome outcome = JobBatch.run(jobs, JobBatch.RowGenerator.of(generator), MODEL,
                    new JobBatch.Limits(512, 16_384), NO_STEERING, 0L);

            assertEquals(List.of("Once upon a time", "The dog", "Lily and Tom went to the park"), counted.tokenizer().encoded());
            assertEquals(List.of(Status.COMPLETED, Status.COMPLETED, Status.COMPLETED, Status.REJECTED),
                    outcome.results().stream().map(JobResult::status).toList());
            for (int i = 0; i < 3; i++) {
                Completion alone = generator.generate(List.of(GenerationInput.greedy(jobs.get(i).prompt(), 8))).get(0);
                assertEquals(alone.text(), outcome.results().get(i).text(), jobs.get(i).requestId());
            }
        }
    }

    static int[] ones(int n) {
        int[] rows = new int[n];
        java.util.Arrays.fill(rows, 1);
        return rows;
    }

    @Test
    void rowsThatFitTheTokenBudgetTogetherAreOneGroupInTheirOrder() {
        assertEquals(List.of(List.of(0, 1, 2)), JobBatch.pack(new int[] {3, 5, 4}, new int[] {8, 8, 8}, ones(3), 100));
        assertEquals(List.of(), JobBatch.pack(new int[0], new int[0], ones(0), 100));
    }

    @Test
    void thirtyTwoRowsAtTheFullContextFitTheDefaultBudget() {
        int[] prompts = new int[32];
        int[] emit = new int[32];
        for (int i = 0; i < 32; i++) {
            prompts[i] = 500 - i;
            emit[i] = 512 - prompts[0]; // every row may run to the end of the 512-token context
        }
        assertEquals(1, JobBatch.pack(prompts, emit, ones(32), 16_384).size());
    }

    @Test
    void aGroupCostsRowsTimesLongestPromptPlusMostToEmitAndLongPromptsGoFirst() {
        // costs: row 1 alone 9+1; with row 3: 2 x (9 + 3) = 24; with row 2 too: 3 x (9 + 5) = 42 > 25
        List<List<Integer>> groups = JobBatch.pack(new int[] {2, 9, 5, 7}, new int[] {8, 1, 5, 3}, ones(4), 25);

        assertEquals(List.of(List.of(1, 3), List.of(2), List.of(0)), groups);
    }

    @Test
    void aRowOverTheBudgetByItselfRunsAlone() {
        assertEquals(List.of(List.of(0), List.of(1)), JobBatch.pack(new int[] {30, 2}, new int[] {10, 2}, ones(2), 20));
    }

    @Test
    void everyRowIsInExactlyOneGroupAndEveryGroupOfSeveralIsWithinTheBudget() {
        java.util.Random random = new java.util.Random(8);
        for (int trial = 0; trial < 500; trial++) {
            int rows = random.nextInt(40);
            int[] prompts = random.ints(rows, 1, 512).toArray();
            int[] emit = random.ints(rows, 1, 256).toArray();
            int[] rowsOf = random.ints(rows, 1, 3).toArray(); // a job alone or with its counterfactual
            int budget = 1 + random.nextInt(20_000);

            List<List<Integer>> groups = JobBatch.pack(prompts, emit, rowsOf, budget);

            assertEquals(java.util.stream.IntStream.range(0, rows).boxed().toList(),
                    groups.stream().flatMap(List::stream).sorted().toList());
            for (List<Integer> group : groups) {
                long cost = (long) group.stream().mapToInt(i -> rowsOf[i]).sum()
                        * (group.stream().mapToInt(i -> prompts[i]).max().orElseThrow()
                        + group.stream().mapToInt(i -> emit[i]).max().orElseThrow());
                assertTrue(group.size() == 1 || cost <= budget, "group " + group + " costs " + cost + " > " + budget);
                assertEquals(group.stream().sorted().toList(), group);
            }
        }
    }

    @Test
    void aBatchOverTheTokenBudgetRunsInGroupsAndAFailingGroupRetriesOnlyItsRows() {
        StandInModel model = new StandInModel();
        // one token per character, 8 to emit each: "aaaa" costs 12 alone, two such rows 24
        List<Job> jobs = List.of(job("a", "aaaa"), job("b", "bbbb"), job("c", "poison"), job("d", "dddd"));

        JobBatch.Outcome outcome = JobBatch.run(jobs, model, MODEL, new JobBatch.Limits(256, 30), NO_STEERING, 0L);

        assertEquals(List.of(Status.COMPLETED, Status.COMPLETED, Status.FAILED, Status.COMPLETED),
                outcome.results().stream().map(JobResult::status).toList());
        // poison (6 + 8) and aaaa: 2 x 14 = 28; then bbbb and dddd: 2 x 12 = 24; the first group fails, its rows go alone
        assertEquals(List.of(List.of("aaaa", "poison"), List.of("aaaa"), List.of("poison"), List.of("bbbb", "dddd")), model.calls);
        assertEquals(2, outcome.retriedAlone());
    }
}
