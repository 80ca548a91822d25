package io.steergate.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.charset.MalformedInputException;
import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RetryTest {

    @Test
    void connectionAndServerStatesAreTransientStatementErrorsAreNot() {
        assertTrue(Failures.isTransient(wrapped(new SQLException("connection refused", "08001"))));
        assertTrue(Failures.isTransient(wrapped(new SQLException("terminating connection", "57P01"))));
        assertTrue(Failures.isTransient(wrapped(new SQLException("could not serialize", "40001"))));
        assertTrue(Failures.isTransient(wrapped(new SQLTimeoutException("acquisition timeout"))));
        assertTrue(Failures.isTransient(wrapped(new ConnectException("Connection refused"))));
        assertFalse(Failures.isTransient(wrapped(new SQLException("invalid byte sequence for encoding UTF8: 0x00", "22021"))));
        assertFalse(Failures.isTransient(wrapped(new SQLException("duplicate key", "23505"))));
        assertFalse(Failures.isTransient(new IllegalArgumentException("bad")));
    }

    @Test
    void ioErrorsAreTransientButBytesThatDoNotParseAreNot() {
        assertTrue(Failures.isTransient(wrapped(new IOException("Broken pipe"))));
        assertTrue(Failures.isTransient(wrapped(new EOFException())));
        // a lexicon saved in Latin-1, a stored row of a newer version: reading them again fails the same way
        assertFalse(Failures.isTransient(new IllegalStateException("lexicon", new MalformedInputException(1))));
        assertFalse(Failures.isTransient(new IllegalArgumentException(
                new JsonParseException(null, "Unexpected character"))));
        assertFalse(Failures.isTransient(new IllegalArgumentException(
                MismatchedInputException.from(null, String.class, "no String"))));
    }

    @Test
    void whatACommitsSuppressedExceptionsSayCounts() {
        RuntimeException lostAtCommit = new IllegalStateException("Could not commit transaction.");
        lostAtCommit.addSuppressed(new IllegalStateException("Error trying to commit local transaction",
                new SQLException("terminating connection due to administrator command", "57P01")));
        assertTrue(Failures.isTransient(wrapped(lostAtCommit)));

        RuntimeException refusedAtCommit = new IllegalStateException("Could not commit transaction.");
        refusedAtCommit.addSuppressed(new SQLException("duplicate key", "23505"));
        assertFalse(Failures.isTransient(wrapped(refusedAtCommit)), "a refused statement stays permanent");

        SQLException refusedThenClosed = new SQLException("invalid byte sequence for encoding UTF8: 0x00", "22021");
        refusedThenClosed.addSuppressed(new IOException("closing the connection failed"));
        assertFalse(Failures.isTransient(wrapped(refusedThenClosed)), "the statement's own error decides, not its cleanup's");

        RuntimeException loop = new IllegalStateException("suppresses its own cause");
        RuntimeException cause = new IllegalStateException("cause", loop);
        loop.addSuppressed(cause);
        assertFalse(Failures.isTransient(loop), "a cycle ends");
        assertEquals("IllegalStateException: suppresses its own cause (IllegalStateException: suppresses its own cause"
                + " (IllegalStateException: suppresses its own cause))", Failures.rootMessage(loop), "and so does its reason");
        assertEquals("IllegalStateException: Could not commit transaction. (SQLException: terminating connection due to"
                + " administrator command)", Failures.rootMessage(lostAtCommit));
    }

    @Test
    void transientFailuresAreRetriedUntilTheStepSucceeds() {
        AtomicInteger calls = new AtomicInteger();
        String value = Retry.untilDone("test step", () -> {
            if (calls.incrementAndGet() < 5) {
                throw wrapped(new SQLException("connection lost", "08006"));
            }
            return "done";
        });
        assertEquals("done", value);
        assertEquals(5, calls.get());
    }

    @Test
    void aFailureThatIsNotTransientIsThrownAsPermanentAfterItsAttempts() {
        AtomicInteger calls = new AtomicInteger();
        Retry.PermanentFailure failure = assertThrows(Retry.PermanentFailure.class, () -> Retry.untilDone("storing x", () -> {
            calls.incrementAndGet();
            throw wrapped(new SQLException("invalid byte sequence for encoding UTF8: 0x00", "22021"));
        }));
        assertEquals(Retry.policy().permanentAttempts(), calls.get());
        assertTrue(failure.getMessage().startsWith("storing x failed permanently: SQLException: invalid byte sequence"), failure.getMessage());
    }

    @Test
    void transientFailuresBetweenPermanentOnesDoNotCountTowardsGivingUp() {
        AtomicInteger calls = new AtomicInteger();
        assertThrows(Retry.PermanentFailure.class, () -> Retry.untilDone("step", () -> {
            int call = calls.incrementAndGet();
            throw call % 2 == 0 ? wrapped(new SQLException("down", "08006")) : new IllegalStateException("broken");
        }));
        assertEquals(2 * Retry.policy().permanentAttempts() - 1, calls.get());
    }

    @Test
    void aBoundedCallGivesUpOnATransientFailureThatOutlastsItsLimit() {
        AtomicInteger calls = new AtomicInteger();
        Retry.Unavailable unavailable = assertThrows(Retry.Unavailable.class, () -> Retry.within(java.time.Duration.ofMillis(300),
                "accepting r1", () -> {
                    calls.incrementAndGet();
                    throw wrapped(new SQLException("Connection refused", "08001"));
                }));
        assertTrue(calls.get() >= 2, "retried before giving up: " + calls.get());
        assertTrue(unavailable.getMessage().startsWith("accepting r1: a dependency is unavailable"), unavailable.getMessage());
    }

    @Test
    void anInterruptedBackOffReturnsWithTheInterruptStillSetForTheLoopToSee() {
        Thread.currentThread().interrupt();
        Retry.backOff(600_000);
        assertTrue(Thread.interrupted(), "the interrupt is kept (and cleared here for the next test)");
    }

    private static RuntimeException wrapped(Exception cause) {
        return new RuntimeException("transaction failed", new RuntimeException("wrapped", cause));
    }
}
