package io.steergate.retraining;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.intervention.InterventionRegistry;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Trainer} against a stand-in job store whose database calls fail on cue. The Quarkus suite shares one running
 * PostgreSQL with every other test class, so an outage during a claim cannot be staged there: here it can, and the
 * number of calls shows that {@code train} (after which the listener acks) returns only once the job's state is known.
 */
class TrainerTest {

    static final UUID ID = UUID.fromString("00000000-0000-0000-0000-000000000007");

    /** Job store calls in order; each step fails with the next planned failure, then succeeds. */
    static class StandInJobs extends RetrainingService {
        final List<String> calls = new ArrayList<>();
        final List<RuntimeException> claimFailures = new ArrayList<>();
        final List<RuntimeException> markFailures = new ArrayList<>();
        final List<RuntimeException> storeFailures = new ArrayList<>();
        Optional<Claim> claim = Optional.empty();
        String failedWith;
        /** Heartbeats this run owns the job for; later ones find that a later attempt took it over. */
        int ownedHeartbeats = Integer.MAX_VALUE;
        GateEvaluation.Outcome storedGate;
        byte[] storedMap;
        String storedMetrics;

        @Override
        public boolean heartbeat(Claim claim, String progressJson) {
            calls.add("heartbeat");
            return calls.stream().filter("heartbeat"::equals).count() <= ownedHeartbeats;
        }

        @Override
        public boolean heartbeat(Claim claim, String progressJson, String lossHistoryJson) {
            return heartbeat(claim, progressJson);
        }

        @Override
        public Optional<Integer> succeed(Claim claim, byte[] mapFile, String metricsJson, String progressJson,
                GateEvaluation.Outcome gate) {
            calls.add("succeed");
            if (!storeFailures.isEmpty()) {
                throw storeFailures.remove(0);
            }
            storedGate = gate;
            storedMap = mapFile;
            storedMetrics = metricsJson;
            return Optional.of(2);
        }

        @Override
        public Optional<Claim> claim(UUID id) {
            calls.add("claim");
            if (!claimFailures.isEmpty()) {
                throw claimFailures.remove(0);
            }
            return claim;
        }

        @Override
        public boolean abandon(UUID id, String error) {
            calls.add("abandon");
            if (!markFailures.isEmpty()) {
                throw markFailures.remove(0);
            }
            failedWith = error;
            return true;
        }

        @Override
        public void fail(Claim claim, String error) {
            calls.add("fail");
            if (!markFailures.isEmpty()) {
                throw markFailures.remove(0);
            }
            failedWith = error;
        }
    }

    final StandInJobs jobs = new StandInJobs();
    final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    Duration staleAfter = Duration.ofMinutes(5);
    final List<Trainer> loaded = new ArrayList<>();

    @AfterEach
    void closeModels() {
        loaded.forEach(trainer -> trainer.model.close(null));
    }

    Trainer trainer() {
        Trainer trainer = new Trainer();
        trainer.jobs = jobs;
        trainer.metrics = metrics;
        trainer.json = new ObjectMapper();
        trainer.config = new RetrainingConfig() {
            public String topic() { return "steer.retraining"; }
            public String dlqTopic() { return "steer.retraining.dlq"; }
            public int progressEvery() { return 25; }
            public Duration staleAfter() { return staleAfter; }
            public Duration sweepEvery() { return Duration.ofSeconds(30); }
            public Duration queuedGrace() { return Duration.ofMinutes(5); }
            public int maxAttempts() { return 3; }
        };
        // a model directory that does not exist: the training itself then fails with an expected refusal
        trainer.model = new TrainerModel();
        trainer.model.dir = Path.of("target/no-such-model");
        trainer.model.device = "cpu";
        return trainer;
    }

    static RuntimeException databaseDown() {
        return new RuntimeException("could not open a connection", new SQLException("Connection refused", "08001"));
    }

    static RuntimeException unreadableRow() {
        return new IllegalStateException("a retraining_jobs JSON column holds invalid JSON");
    }

    double outcome(String outcome) {
        return metrics.counter("steergate.retraining.jobs", "outcome", outcome).count();
    }

    static Claim claim() {
        return new Claim(ID, 1, "kindness", "toxicity", null, "mean-shift", "resid",
                new Hyperparameters(300, 1e-2, 0, 0, 0L, 0, 0, "mean", false, null), false, List.of("a"), List.of("b"), null, null);
    }

    @Test
    void aClaimDuringAnOutageIsWaitedOutNotSkipped() {
        jobs.claimFailures.addAll(List.of(databaseDown(), databaseDown(), databaseDown()));
        trainer().train(ID);
        // returned only after a claim went through: a trainer that gave up would have claimed once
        assertEquals(List.of("claim", "claim", "claim", "claim"), jobs.calls);
        assertEquals(1, outcome("skipped"));
        assertEquals(0, outcome("failed"));
    }

    @Test
    void aFailedMarkDuringAnOutageIsWaitedOutNotLeftRunning() {
        jobs.claimFailures.add(databaseDown());
        jobs.claim = Optional.of(claim());
        jobs.markFailures.addAll(List.of(databaseDown(), databaseDown(), databaseDown(), databaseDown()));
        trainer().train(ID);
        assertEquals(List.of("claim", "claim", "fail", "fail", "fail", "fail", "fail"), jobs.calls);
        assertTrue(jobs.failedWith.startsWith("model directory ") && jobs.failedWith.endsWith("does not exist"),
                jobs.failedWith);
        assertEquals(1, outcome("failed"));
    }

    @Test
    void aClaimThatFailsPermanentlyEndsTheJobFailedWithTheReason() {
        for (int i = 0; i < 3; i++) {
            jobs.claimFailures.add(unreadableRow());
        }
        trainer().train(ID);
        assertEquals(List.of("claim", "claim", "claim", "abandon"), jobs.calls);
        assertEquals("not started: IllegalStateException: a retraining_jobs JSON column holds invalid JSON", jobs.failedWith);
        assertEquals(1, outcome("failed"));
    }

    @Test
    void whenEvenTheFailedMarkFailsPermanentlyTheTrainerGoesOn() {
        for (int i = 0; i < 3; i++) {
            jobs.claimFailures.add(unreadableRow());
            jobs.markFailures.add(unreadableRow());
        }
        trainer().train(ID);
        assertEquals(List.of("claim", "claim", "claim", "abandon", "abandon", "abandon"), jobs.calls);
        assertEquals(null, jobs.failedWith);
        assertEquals(1, outcome("failed"));
    }

    @Test
    void aTokenGatedJobWhoseResultMeetsAnOutageIsStoredGatedOnceItEnds() throws IOException {
        Trainer trainer = trainer();
        trainer.model.dir = TestModel.dir();
        loaded.add(trainer);
        jobs.claim = Optional.of(new Claim(ID, 1, "no-dogs", "negation", null, "lineas", "layers.4.resid",
                new Hyperparameters(20, 1e-2, 0, 0, 1L, 0, 0, "last", true, null), false, texts("no-dogs.source"),
                texts("no-dogs.target"), null, null));
        jobs.storeFailures.addAll(List.of(databaseDown(), databaseDown()));
        trainer.train(ID);
        // the store was tried until the outage ended, with the map fitted and gated once before it: one fit of 20
        // steps reports progress once (at its last step; progress-every is 25), a fit per try would report three times
        assertEquals(3, jobs.calls.stream().filter("succeed"::equals).count(), jobs.calls + ": " + jobs.failedWith);
        assertEquals(1, heartbeats(), String.valueOf(jobs.calls));
        Intervention stored = InterventionFile.read(jobs.storedMap);
        assertEquals(1, stored.maps().size());
        stored.maps().values().forEach(map -> assertTrue(map.gate() != null, "every stored map is gated"));
        assertTrue(jobs.storedMetrics.contains("\"gateAccuracy\""), jobs.storedMetrics);
        assertEquals(1, outcome("succeeded"));
        assertEquals(0, outcome("failed"));
    }

    /** 64 generations per side of the gate, in batches of 32 ({@code Evaluation.Options.defaults}): 4 batches. */
    static final int GATE_BATCHES = 4;

    /** A trainer on the real model whose jobs are evaluated by a small gate (no active version: against unsteered). */
    Trainer gatedTrainer() throws IOException {
        Trainer trainer = trainer();
        trainer.model.dir = TestModel.dir();
        loaded.add(trainer);
        trainer.gateConfig = new GateConfig() {
            public int generations() { return 64; }
            public int maxTokens() { return 4; }
            public double perplexityTolerance() { return 0.10; }
            public double strength() { return 1.0; }
            public String perplexityTexts() { return "prompts/perplexity.jsonl"; }
            public Map<String, Default> defaults() { return Map.of(); }
        };
        trainer.gateSpecs = new GateSpecs();
        trainer.gateSpecs.config = trainer.gateConfig;
        trainer.gateSpecs.policyDir = Path.of("policies");
        trainer.registry = new InterventionRegistry() {
            @Override
            public Optional<Integer> activeVersion(String name) {
                // the gate's first step: what is recorded after it happened during the gate
                jobs.calls.add("gate");
                return Optional.empty();
            }
        };
        jobs.claim = Optional.of(new Claim(ID, 1, "kindness", "toxicity", null, "mean-shift", "resid",
                new Hyperparameters(300, 1e-2, 0, 0, 0L, 0, 0, "mean", false, null), false, texts("kindness.source"), texts("kindness.target"),
                new EvaluationRequest("kindness-elicit", "meanness", "kindness", 1.0), texts("kindness.elicit")));
        return trainer;
    }

    static List<String> texts(String file) throws IOException {
        return PromptSet.read(Path.of("policies/prompts/" + file + ".jsonl")).texts();
    }

    long heartbeats() {
        return jobs.calls.stream().filter("heartbeat"::equals).count();
    }

    long heartbeatsBeforeTheGate() {
        return jobs.calls.subList(0, jobs.calls.indexOf("gate")).stream().filter("heartbeat"::equals).count();
    }

    /** The kindness sets' 56 prompts in batches of 8. */
    static final int BATCHES_PER_PASS = 7;

    /** The gated trainer's job as mean-shift at one site, collecting in batches of 8. */
    static Claim meanShiftInBatchesOfEight(Claim gated) {
        return new Claim(ID, 1, gated.intervention(), gated.kind(), gated.description(), "mean-shift",
                "layers.2.resid", new Hyperparameters(300, 1e-2, 0, 0, 0L, 0, 0, "mean", false, 8), false,
                gated.source(), gated.target(), gated.evaluation(), gated.heldOut());
    }

    @Test
    void aClosedFormFitRefreshesTheHeartbeatAtItsCollectionBatchesWhenStaleAfterIsShort() throws IOException {
        staleAfter = Duration.ofNanos(1);
        Trainer trainer = gatedTrainer();
        jobs.claim = jobs.claim.map(TrainerTest::meanShiftInBatchesOfEight);
        trainer.train(ID);
        assertEquals("succeed", jobs.calls.get(jobs.calls.size() - 1), jobs.failedWith);
        // before: one heartbeat before the gate, however long the fit's collection passes ran, so a fit longer than
        // stale-after was taken for a dead trainer; now every batch of every pass refreshes it (stale-after is
        // shorter than any batch here), so there are more heartbeats than one pass has batches
        assertTrue(heartbeatsBeforeTheGate() > BATCHES_PER_PASS, String.valueOf(jobs.calls));
    }

    /**
     * LinEAS steps between progress records (every 25 here) refresh the heartbeat when stale-after is near: on a large
     * batch of long prompts 25 steps can outlast it. Before, only every 25th step did, so with stale-after shorter than
     * a step, 24 steps in 25 passed without one.
     */
    @Test
    void lineasStepsBetweenProgressRecordsRefreshTheHeartbeatWhenStaleAfterIsShort() throws IOException {
        staleAfter = Duration.ofNanos(1);
        Trainer trainer = gatedTrainer();
        jobs.claim = jobs.claim.map(c -> new Claim(c.id(), c.attempt(), c.intervention(), c.kind(), c.description(),
                "lineas", "layers.2.resid", new Hyperparameters(30, 1e-2, 0, 0, 0L, 0, 0, "mean", false, null), false,
                c.source(), c.target(), c.evaluation(), c.heldOut()));
        trainer.train(ID);
        assertEquals("succeed", jobs.calls.get(jobs.calls.size() - 1), jobs.failedWith);
        assertTrue(heartbeatsBeforeTheGate() >= 30, "a heartbeat at every step: " + jobs.calls);
    }

    /**
     * A held-out prompt longer than the model's context (a stored set takes texts of 4,000 characters) is measured on
     * its end, the part a continuation follows. Before, the gate failed the job after the whole training: "prompt of
     * row b has N tokens; the context holds 512".
     */
    @Test
    void aHeldOutPromptLongerThanTheContextIsMeasuredOnItsEnd() throws IOException {
        staleAfter = Duration.ofDays(1);
        Trainer trainer = gatedTrainer();
        String story = String.join(" ", texts("kindness.elicit"));
        assertTrue(trainer.model.model().tokenizer().encode(story).length > trainer.model.model().config().seqLen(),
                "longer than the context");
        jobs.claim = jobs.claim.map(c -> new Claim(c.id(), c.attempt(), c.intervention(), c.kind(), c.description(),
                "mean-shift", "layers.2.resid", c.hyperparameters(), false, c.source(), c.target(), c.evaluation(),
                List.of(story, c.heldOut().get(0))));
        trainer.train(ID);
        assertEquals("succeed", jobs.calls.get(jobs.calls.size() - 1), jobs.failedWith);
        String end = GateEvaluation.endsWithinContext(trainer.model.model(), List.of(story), 4).get(0);
        assertTrue(story.endsWith(end.strip()) && end.length() > 100, end);
        assertTrue(trainer.model.model().tokenizer().encode(end).length <= trainer.model.model().config().seqLen() - 4);
    }

    @Test
    void aFitWhoseHeartbeatIsRefusedStopsBeforeTheGateAndStoresNothing() throws IOException {
        staleAfter = Duration.ofNanos(1);
        Trainer trainer = gatedTrainer();
        jobs.claim = jobs.claim.map(TrainerTest::meanShiftInBatchesOfEight);
        // a later attempt took the job over during the fit: its second heartbeat, at the fit's second batch, is refused
        jobs.ownedHeartbeats = 1;
        trainer.train(ID);
        assertEquals(2, heartbeats(), "the fit stopped at the refused heartbeat: " + jobs.calls);
        assertTrue(!jobs.calls.contains("gate") && !jobs.calls.contains("succeed"), String.valueOf(jobs.calls));
        assertEquals(null, jobs.failedWith);
        assertEquals(1, outcome("superseded"));
    }

    @Test
    void theGateRefreshesTheHeartbeatAtItsBatchesWhenStaleAfterIsShort() throws IOException {
        // stale-after far longer than the gate: no heartbeat during it
        staleAfter = Duration.ofDays(1);
        gatedTrainer().train(ID);
        assertEquals("succeed", jobs.calls.get(jobs.calls.size() - 1));
        assertTrue(jobs.storedGate != null, "the gate ran");
        assertEquals(0, heartbeats() - heartbeatsBeforeTheGate(), String.valueOf(jobs.calls));

        // stale-after shorter than any batch: every batch of the gate refreshes the heartbeat, so a gate longer than
        // stale-after is not taken for a dead trainer
        jobs.calls.clear();
        staleAfter = Duration.ofNanos(1);
        gatedTrainer().train(ID);
        assertEquals("succeed", jobs.calls.get(jobs.calls.size() - 1));
        assertEquals(GATE_BATCHES, heartbeats() - heartbeatsBeforeTheGate(), String.valueOf(jobs.calls));
        assertEquals(2, outcome("succeeded"));
    }

    @Test
    void anActiveVersionMadeForAnotherModelIsNotTheGatesBaselineTheUnsteeredModelIs() throws IOException {
        staleAfter = Duration.ofDays(1);
        Trainer trainer = gatedTrainer();
        int dim = trainer.model.model().config().dim();
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        float[] ones = new float[dim];
        Arrays.fill(ones, 1f);
        maps.put(new HookSite(2, HookPoint.RESID), AffineMap.of(ones, new float[dim]));
        // what is left active after a model upgrade: a map of the old weights
        byte[] oldModels = InterventionFile.write(new Intervention("kindness", Intervention.MEAN_SHIFT, "sha256:old-weights",
                "kindness", Map.of(), maps));
        trainer.registry = new InterventionRegistry() {
            @Override
            public Optional<Integer> activeVersion(String name) {
                return Optional.of(1);
            }

            @Override
            public byte[] mapFile(String name, int number) {
                return oldModels;
            }
        };
        trainer.train(ID);
        // before: the sweep refused the baseline after the whole training ("made for model sha256:old-weights"), on
        // every attempt, until someone retired the old version
        assertEquals("succeed", jobs.calls.get(jobs.calls.size() - 1), jobs.failedWith);
        assertEquals(null, jobs.storedGate.baselineVersion());
        assertEquals(1, jobs.storedGate.replacedVersion(), "a promotion replaces it all the same");
        assertEquals("unsteered", ((Map<?, ?>) jobs.storedGate.report().get("baseline")).get("against"));
    }

    @Test
    void aGateWhoseHeartbeatIsRefusedStopsAndStoresNothing() throws IOException {
        staleAfter = Duration.ofNanos(1);
        gatedTrainer().train(ID);
        long beforeTheGate = heartbeatsBeforeTheGate();

        // a later attempt took the job over while this one's gate ran: its first heartbeat in the gate is refused
        jobs.calls.clear();
        jobs.ownedHeartbeats = (int) beforeTheGate;
        gatedTrainer().train(ID);
        assertEquals(beforeTheGate + 1, heartbeats(), "the gate stopped at the refused heartbeat: " + jobs.calls);
        assertTrue(jobs.calls.contains("gate") && !jobs.calls.contains("succeed"), "nothing stored: " + jobs.calls);
        assertEquals(1, outcome("superseded"));
    }

    @Test
    void storedErrorsAreOneBoundedLineWithoutControlCharacters() {
        assertEquals("bad \\u0000name\\u0007", Trainer.oneLine(" bad \u0000name\u0007 \nat line 2"));
        assertEquals(Trainer.ERROR_CHARS, Trainer.oneLine("x".repeat(10_000)).length());
        assertEquals("no message", Trainer.oneLine(null));
    }
}
