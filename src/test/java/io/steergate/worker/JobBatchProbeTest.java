package io.steergate.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.eval.LinearProbe;
import io.steergate.engine.eval.OfflinePooling;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.messages.GenerationResult.Status;
import io.steergate.messages.Job;
import io.steergate.messages.JobResult;
import io.steergate.messages.ModelRef;
import io.steergate.messages.ProbeRequest;
import io.steergate.testing.TestModel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Probe scorers in a worker's batch on stories260K with the shipped kindness sets and map: the score a job comes back
 * with is the probe applied offline to the same generated tokens, the text is the one generated without the probe, and
 * counterfactual rows are not scored.
 */
class JobBatchProbeTest {

    private static final HookSite SITE = new HookSite(2, HookPoint.RESID);
    private static LlamaModel model;
    private static JobBatch.RowGenerator rows;
    private static ProbeRequest request;
    private static LinearProbe probe;

    @BeforeAll
    static void train() throws Exception {
        JobBatchCounterfactualTest.readShippedMap();
        model = TestModel.load();
        rows = JobBatch.RowGenerator.of(new Generator(model));
        request = new ProbeRequest("meanness-probe", "kindness", SITE.name(),
                PromptSet.read(Path.of("policies/prompts/kindness.source.jsonl")).sha256(),
                PromptSet.read(Path.of("policies/prompts/kindness.target.jsonl")).sha256());
        probe = TrainedProbes.train(model, SITE, request, Path.of("policies"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static Job job(String id, String prompt, boolean counterfactual, List<ProbeRequest> probes) {
        return new Job(id, "acme", "stories260K", prompt, 24, 0.0, 1.0, 3L, null, JobBatchCounterfactualTest.KINDNESS, 0L,
                counterfactual, probes);
    }

    @Test
    void theProbeScoreIsTheProbeOnTheGeneratedTokensAndChangesNoText() {
        String prompt = "Tom was angry at his sister. He";
        JobBatch.ProbeResolver probes = asked -> Optional.of(new TrainedProbes.Ready(asked.name(), SITE, probe));
        ModelRef ref = new ModelRef("stories260K", "test");
        JobBatch.Limits limits = new JobBatch.Limits(model.config().seqLen(), 4096);

        JobBatch.Outcome scored = JobBatch.run(List.of(job("a", prompt, true, List.of(request)),
                job("b", "Once upon a time", false, List.of())), rows, ref, limits, JobBatchCounterfactualTest.SHIPPED, probes, 0L);
        JobBatch.Outcome plain = JobBatch.run(List.of(job("a", prompt, true, List.of())), rows, ref, limits,
                JobBatchCounterfactualTest.SHIPPED, 0L);

        JobResult a = scored.results().get(0);
        assertEquals(Status.COMPLETED, a.status());
        assertEquals(plain.results().get(0).text(), a.text(), "the probe changes no token");
        assertEquals(plain.results().get(0).counterfactualText(), a.counterfactualText());
        OfflinePooling.Reference reference = OfflinePooling.greedy(model, prompt, 24,
                SteeringPlan.of(JobBatchCounterfactualTest.kindness, 1.0), SITE);
        assertEquals(reference.text(), a.text());
        double offline = probe.probability(reference.pooled());
        assertEquals(List.of("meanness-probe"), List.copyOf(a.probeScores().keySet()));
        double online = a.probeScores().get("meanness-probe");
        // compared as log-odds: a probability near 0 or 1 hides differences that the dot product shows
        assertEquals(logit(offline), logit(online), 1e-3, offline + " offline, " + online + " in the batch");
        assertTrue(offline > 0 && offline < 1);
        assertNull(scored.results().get(1).probeScores(), "a job that asks for no probe gets no probe scores");
        assertNull(plain.results().get(0).probeScores());
    }

    private static double logit(double p) {
        return Math.log(p / (1 - p));
    }

    @Test
    void aJobAskingForMoreProbesThanAPolicyMayHaveIsUnfit() {
        List<ProbeRequest> many = java.util.Collections.nCopies(ProbeRequest.MAX_PER_JOB + 1, request);
        JobBatch.Outcome outcome = JobBatch.run(List.of(job("forged", "Hi", false, many)), new JobBatchTest.StandInModel(),
                JobBatchTest.MODEL, JobBatchTest.LIMITS, JobBatchTest.NO_STEERING, asked -> Optional.empty(), 0L);
        assertEquals(Status.FAILED, outcome.results().get(0).status());
        assertEquals(java.util.Set.of("forged"), outcome.unfit(), "dead-lettered by the loop: only a forged job gets here");
    }

    @Test
    void aProbeThatCannotBeTrainedIsLeftOutAndTheJobStillCompletes() {
        ProbeRequest stale = new ProbeRequest("meanness-probe", "kindness", SITE.name(), "0".repeat(64), request.targetSha256());
        TrainedProbes trained = new TrainedProbes();
        trained.policiesDir = Path.of("policies");
        assertEquals(Optional.empty(), trained.resolve(stale), "the files hold other texts than the policy read");
        JobBatch.Outcome outcome = JobBatch.run(List.of(job("a", "Tom was angry. He", false, List.of(stale))), rows,
                new ModelRef("stories260K", "test"), new JobBatch.Limits(model.config().seqLen(), 4096),
                JobBatchCounterfactualTest.SHIPPED, trained::resolve, 0L);
        assertEquals(Status.COMPLETED, outcome.results().get(0).status());
        assertEquals(Map.of(), outcome.results().get(0).probeScores());
    }
}
