package io.steergate.retraining;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
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
        Optional<Claim> claim = Optional.empty();
        String failedWith;

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

    Trainer trainer() {
        Trainer trainer = new Trainer();
        trainer.jobs = jobs;
        trainer.metrics = metrics;
        trainer.json = new ObjectMapper();
        trainer.config = new RetrainingConfig() {
            public String topic() { return "steer.retraining"; }
            public String dlqTopic() { return "steer.retraining.dlq"; }
            public int progressEvery() { return 25; }
            public Duration staleAfter() { return Duration.ofMinutes(5); }
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
                new Hyperparameters(300, 1e-2, 0, 0, 0L), false, List.of("a"), List.of("b"), null, null);
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
    void storedErrorsAreOneBoundedLineWithoutControlCharacters() {
        assertEquals("bad \\u0000name\\u0007", Trainer.oneLine(" bad \u0000name\u0007 \nat line 2"));
        assertEquals(Trainer.ERROR_CHARS, Trainer.oneLine("x".repeat(10_000)).length());
        assertEquals("no message", Trainer.oneLine(null));
    }
}
