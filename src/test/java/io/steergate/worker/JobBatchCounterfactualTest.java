package io.steergate.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.messages.AppliedIntervention;
import io.steergate.messages.GenerationResult.Status;
import io.steergate.messages.Job;
import io.steergate.messages.JobResult;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Counterfactual rows of a batch: a job that asks for one gets the unsteered continuation of the same prompt and seed,
 * generated beside it, without changing its own text. With a stand-in for the model (where the rows go and what fails)
 * and with the served model and the shipped kindness map (what the texts are).
 */
class JobBatchCounterfactualTest {

    static final List<AppliedIntervention> KINDNESS = List.of(new AppliedIntervention("kindness", 1, 1.0));

    static Intervention kindness;

    @BeforeAll
    static void readShippedMap() throws IOException {
        kindness = InterventionFile.read(Path.of("policies/interventions/kindness.safetensors"));
    }

    /** The shipped kindness map at the plan's strength; an empty plan is no steering. */
    static final JobBatch.PlanResolver SHIPPED = plan -> plan.isEmpty() ? SteeringPlan.NONE
            : SteeringPlan.of(kindness, plan.get(0).strength());

    static Job job(String id, String prompt, List<AppliedIntervention> plan, boolean counterfactual) {
        return job(id, prompt, plan, 0.0, 1L, 8, counterfactual);
    }

    static Job job(String id, String prompt, List<AppliedIntervention> plan, double temperature, long seed, int maxTokens,
            boolean counterfactual) {
        return new Job(id, "acme", "stories260K", prompt, maxTokens, temperature, 1.0, seed, null, plan, 0L, counterfactual);
    }

    @Test
    void aCounterfactualRowGoesBesideItsJobUnsteeredWithTheSameTokensSeedAndSampling() {
        JobBatchTest.StandInModel model = new JobBatchTest.StandInModel();
        Job asking = job("a", "first", KINDNESS, 0.7, 42L, 8, true);

        JobBatch.Outcome outcome = JobBatch.run(List.of(asking, job("b", "second", KINDNESS, false)), model,
                JobBatchTest.MODEL, JobBatchTest.LIMITS, SHIPPED, 0L);

        assertEquals(List.of(List.of("first", "first", "second")), model.calls, "one generation, the pair side by side");
        GenerationInput steered = model.inputs.get(0).get(0);
        GenerationInput unsteered = model.inputs.get(0).get(1);
        assertNotNull(steered.steering());
        assertNull(unsteered.steering());
        assertEquals(steered.withSteering(null), unsteered, "same prompt, maxTokens, temperature, topP and seed");
        assertSame(model.tokensGiven.get(0).get(0), model.tokensGiven.get(0).get(1), "the prompt tokenized once");
        assertEquals(List.of("first", "second"), model.counted);

        JobResult a = outcome.results().get(0);
        assertEquals(Status.COMPLETED, a.status());
        assertEquals("steered: first", a.text());
        assertEquals("done: first", a.counterfactualText());
        assertEquals(5, a.usage().completionTokens(), "the usage is the steered row's");
        assertEquals(2, a.counterfactualTokens(), "the counterfactual row's own, for the gateway to charge");
        assertNull(outcome.results().get(1).counterfactualText(), "not asked for");
        assertNull(outcome.results().get(1).counterfactualTokens());
        assertEquals(5 + 2 + 5, outcome.generatedTokens());
        assertEquals(2, outcome.counterfactualTokens());
    }

    @Test
    void aJobAndItsCounterfactualShareAGroupAndAPairOverTheBudgetRunsAsTwoGenerations() {
        JobBatchTest.StandInModel model = new JobBatchTest.StandInModel();
        // one token per character, 8 to emit each: a row costs 12, so "bbbb" and "cccc" together 24, and so does the pair
        List<Job> jobs = List.of(job("b", "bbbb", KINDNESS, false), job("c", "cccc", KINDNESS, false), job("a", "aaaa", KINDNESS, true));

        JobBatch.Outcome outcome = JobBatch.run(jobs, model, JobBatchTest.MODEL, new JobBatch.Limits(256, 24), SHIPPED, 0L);

        assertEquals(List.of(List.of("bbbb", "cccc"), List.of("aaaa", "aaaa")), model.calls);
        assertEquals("done: aaaa", outcome.results().get(2).counterfactualText());

        model.calls.clear();
        outcome = JobBatch.run(jobs, model, JobBatchTest.MODEL, new JobBatch.Limits(256, 20), SHIPPED, 0L);

        // the pair alone costs 24 > 20: its rows run one after the other, as any row over the budget runs alone
        assertEquals(List.of(List.of("bbbb"), List.of("cccc"), List.of("aaaa"), List.of("aaaa")), model.calls);
        assertEquals("steered: aaaa", outcome.results().get(2).text());
        assertEquals("done: aaaa", outcome.results().get(2).counterfactualText());
        assertEquals(0, outcome.retriedAlone(), "nothing failed");
    }

    @Test
    void aFailingCounterfactualRowLeavesItsJobCompletedWithoutTheText() {
        JobBatchTest.StandInModel model = new JobBatchTest.StandInModel();

        JobBatch.Outcome outcome = JobBatch.run(List.of(job("a", "brittle", KINDNESS, true), job("b", "second", KINDNESS, true)),
                model, JobBatchTest.MODEL, JobBatchTest.LIMITS, SHIPPED, 0L);

        assertEquals(List.of(List.of("brittle", "brittle", "second", "second"), List.of("brittle"), List.of("brittle"),
                List.of("second"), List.of("second")), model.calls, "the group fails, then each row alone");
        JobResult a = outcome.results().get(0);
        assertEquals(Status.COMPLETED, a.status());
        assertEquals("steered: brittle", a.text());
        assertNull(a.counterfactualText());
        assertEquals(0, a.counterfactualTokens(), "a failed counterfactual row reports no tokens");
        assertNull(a.error());
        assertEquals("done: second", outcome.results().get(1).counterfactualText());
        assertEquals(2, outcome.retriedAlone(), "jobs, not rows");
        assertEquals(2, outcome.counterfactualTokens());
        assertEquals(Set.of(), outcome.unfit());
    }

    @Test
    void aJobRejectedOrUnfitBeforeGenerationBringsNoCounterfactualRow() {
        JobBatchTest.StandInModel model = new JobBatchTest.StandInModel();
        Job tooLong = job("long", "x".repeat(300), KINDNESS, true);
        Job forged = new Job("forged", "acme", "stories260K", "forged", 8, 0.0, 0.0, 1L, null, KINDNESS, 0L, true);

        JobBatch.Outcome outcome = JobBatch.run(List.of(tooLong, forged, job("c", "fits", KINDNESS, false)), model,
                JobBatchTest.MODEL, JobBatchTest.LIMITS, SHIPPED, 0L);

        assertEquals(List.of(Status.REJECTED, Status.FAILED, Status.COMPLETED), outcome.results().stream().map(JobResult::status).toList());
        assertNull(outcome.results().get(0).counterfactualText());
        assertNull(outcome.results().get(1).counterfactualText());
        assertEquals(List.of(List.of("fits")), model.calls);
        assertEquals(0, outcome.counterfactualTokens());
    }

    @Test
    void anUnsteeredJobIsItsOwnCounterfactualAndBringsNoRow() {
        JobBatchTest.StandInModel model = new JobBatchTest.StandInModel();

        JobBatch.Outcome outcome = JobBatch.run(List.of(job("a", "plain", List.of(), true)), model, JobBatchTest.MODEL,
                JobBatchTest.LIMITS, SHIPPED, 0L);

        assertEquals(List.of(List.of("plain")), model.calls);
        assertEquals("done: plain", outcome.results().get(0).text());
        assertEquals("done: plain", outcome.results().get(0).counterfactualText());
        assertEquals(0, outcome.results().get(0).counterfactualTokens(), "no row of its own, nothing more to charge");
    }

    @Test
    void onTheServedModelTheCounterfactualIsTheUnsteeredTextAndLeavesTheSteeredTextAlone() throws Exception {
        try (LlamaModel served = TestModel.load()) {
            JobBatch.RowGenerator model = JobBatch.RowGenerator.of(new Generator(served));
            JobBatch.Limits limits = new JobBatch.Limits(served.config().seqLen(), 16_384);
            List<Job> asking = List.of(
                    job("sampled", "Lily and Tom went to the park", KINDNESS, 0.8, 7L, 24, true),
                    job("greedy", "Tom was mean to his sister. He", KINDNESS, 0.0, 1L, 24, true),
                    job("beside", "The dog was sad", KINDNESS, 0.8, 3L, 24, false),
                    job("unsteered", "Once upon a time", List.of(), 0.8, 5L, 24, true));
            List<Job> notAsking = asking.stream().map(j -> job(j.requestId(), j.prompt(), j.plan(), j.temperature(), j.seed(),
                    j.maxTokens(), false)).toList();

            List<JobResult> withCounterfactuals = JobBatch.run(asking, model, JobBatchTest.MODEL, limits, SHIPPED, 0L).results();
            List<JobResult> without = JobBatch.run(notAsking, model, JobBatchTest.MODEL, limits, SHIPPED, 0L).results();

            for (int i = 0; i < asking.size(); i++) {
                Job job = asking.get(i);
                JobResult result = withCounterfactuals.get(i);
                assertEquals(Status.COMPLETED, result.status(), job.requestId());
                // (b) a counterfactual row beside a job leaves its steered text as it is
                assertEquals(without.get(i).text(), result.text(), job.requestId());
                assertEquals(without.get(i).usage(), result.usage(), job.requestId());
                assertNull(without.get(i).counterfactualText(), job.requestId());
                if (!job.counterfactual()) {
                    assertNull(result.counterfactualText(), job.requestId()); // (c)
                    continue;
                }
                // (a) the same job with an empty plan and the same seed, run alone
                Job unsteeredAlone = job(job.requestId(), job.prompt(), List.of(), job.temperature(), job.seed(), job.maxTokens(), false);
                String alone = JobBatch.run(List.of(unsteeredAlone), model, JobBatchTest.MODEL, limits, SHIPPED, 0L).results().get(0).text();
                assertEquals(alone, result.counterfactualText(), job.requestId());
            }
            // (d) greedy, so the difference is the map's and not the sampler's: unsteered, Tom's sister is "very scared";
            // steered, he has "a big box of colors" (at strength 1 the map changes the first token already)
            JobResult greedy = withCounterfactuals.get(1);
            assertNotEquals(greedy.counterfactualText(), greedy.text(), "kindness at strength 1 changes: " + greedy.text());
            assertEquals(withCounterfactuals.get(3).text(), withCounterfactuals.get(3).counterfactualText());
        }
    }

}
