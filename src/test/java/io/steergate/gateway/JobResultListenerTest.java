package io.steergate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.steergate.messages.ErrorInfo;
import io.steergate.messages.GenerationResult.Status;
import io.steergate.messages.GenerationResult.Usage;
import io.steergate.messages.JobResult;
import io.steergate.messages.ModelRef;
import org.junit.jupiter.api.Test;

class JobResultListenerTest {

    private static final ModelRef MODEL = new ModelRef("stories260K", "sha256:00");

    @Test
    void aWorkersOwnOutcomesPass() {
        assertNull(JobResultListener.problemOf(new JobResult("r1", Status.COMPLETED, "", MODEL, new Usage(1, 0), 0, 0, null, null)));
        assertNull(JobResultListener.problemOf(new JobResult("r1", Status.FAILED, null, null, null, 0, 0,
                new ErrorInfo("GENERATION_FAILED", "out of memory"), null)));
    }

    @Test
    void recordsNoWorkerWritesAreNamed() {
        assertEquals("requestId is missing", JobResultListener.problemOf(new JobResult(null, Status.FAILED, null, null, null, 0, 0, null, null)));
        for (String impossible : new String[] {"a\nb", "a\u0000b", "a b", "", "x".repeat(129)}) {
            assertEquals("requestId must be 1-128 characters of [A-Za-z0-9._:-]", JobResultListener.problemOf(
                    new JobResult(impossible, Status.COMPLETED, "x", MODEL, new Usage(1, 1), 0, 0, null, null)), impossible);
        }
        assertEquals("status is missing", JobResultListener.problemOf(new JobResult("r1", null, "x", MODEL, new Usage(1, 1), 0, 0, null, null)));
        assertEquals("a COMPLETED result needs text, usage and model",
                JobResultListener.problemOf(new JobResult("r1", Status.COMPLETED, null, MODEL, new Usage(1, 1), 0, 0, null, null)));
        assertEquals("text holds U+0000, which no SteerGate worker writes", JobResultListener.problemOf(
                new JobResult("r1", Status.COMPLETED, "a\u0000b", MODEL, new Usage(1, 1), 0, 0, null, null)));
        assertEquals("text holds U+0000, which no SteerGate worker writes", JobResultListener.problemOf(
                new JobResult("r1", Status.COMPLETED, "ab", MODEL, new Usage(1, 1), 0, 0, null, "c\u0000", 1, null)));
        assertEquals("a REJECTED result needs an error",
                JobResultListener.problemOf(new JobResult("r1", Status.REJECTED, null, null, null, 0, 0, null, null)));
        assertEquals("error code NOPE is not one of SteerGate's", JobResultListener.problemOf(
                new JobResult("r1", Status.FAILED, null, null, null, 0, 0, new ErrorInfo("NOPE", "made up"), null)));
    }
}
