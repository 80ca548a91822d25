package io.steergate.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.annotations.Blocking;
import io.steergate.messages.Channels;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.GenerationResult;
import io.steergate.messages.Identifiers;
import io.steergate.messages.JobResult;
import io.steergate.messages.SafeText;
import io.steergate.outbox.DeadLetters;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;

/**
 * Consumes steer.job-results: stores each outcome, its audit record and its result in one transaction, then acks.
 * While the database is away it waits; a record that cannot be read or stored for good goes to the job-results
 * dead-letter topic with the reason (its request then ends by the deadline), and the consumer moves on.
 */
@ApplicationScoped
public class JobResultListener {

    @Inject
    GenerationService generations;

    @Inject
    GatewayConfig config;

    @Inject
    ObjectMapper json;

    @Inject
    DeadLetters deadLetters;

    @Inject
    MeterRegistry metrics;

    @Incoming(Channels.JOB_RESULTS)
    @Blocking
    public void onJobResult(ConsumerRecord<String, byte[]> record) {
        String where = record.topic() + "-" + record.partition() + "@" + record.offset();
        JobResult outcome;
        try {
            outcome = json.readValue(record.value(), JobResult.class);
        } catch (IOException | RuntimeException e) {
            deadLetter(record, where, "not a JobResult: " + e.getMessage());
            return;
        }
        String problem = problemOf(outcome);
        if (problem != null) {
            deadLetter(record, where, "not a JobResult: " + problem);
            return;
        }
        try {
            Retry.untilDone("completing " + outcome.requestId(), () -> generations.complete(outcome));
        } catch (Retry.PermanentFailure refused) {
            deadLetter(record, where, "could not be stored: " + Failures.rootMessage(refused.getCause()));
        }
    }

    /**
     * What makes {@code outcome} one our workers cannot have written, or null. Checked before storing, so that a
     * forged record is set aside at once instead of failing in the database (an unknown error code longer than its
     * column) and leaving its request to the deadline.
     */
    static String problemOf(JobResult outcome) {
        if (outcome.requestId() == null) {
            return "requestId is missing";
        }
        if (!Identifiers.REQUEST_ID.matcher(outcome.requestId()).matches()) {
            // no request has such an id; looked up or logged as it is, it could carry newlines or U+0000 (which
            // PostgreSQL refuses) or be any length
            return "requestId must be 1-128 characters of [A-Za-z0-9._:-]";
        }
        if (outcome.status() == null) {
            return "status is missing";
        }
        if (holdsNul(outcome.text()) || holdsNul(outcome.counterfactualText())) {
            // a worker's tokenizer writes U+0000 as U+FFFD (Tokenizer.withoutNul); PostgreSQL text refuses it, so
            // storing would fail on every retry
            return "text holds U+0000, which no SteerGate worker writes";
        }
        if (outcome.status() == GenerationResult.Status.COMPLETED) {
            return outcome.text() == null || outcome.usage() == null || outcome.model() == null
                    ? "a COMPLETED result needs text, usage and model" : null;
        }
        if (outcome.error() == null) {
            return "a " + outcome.status() + " result needs an error";
        }
        return ErrorCode.isKnown(outcome.error().code()) ? null
                : "error code " + SafeText.of(outcome.error().code(), 40) + " is not one of SteerGate's";
    }

    private static boolean holdsNul(String text) {
        return text != null && text.indexOf('\u0000') >= 0;
    }

    /** Only our workers write this topic: a record we cannot use is a bug or a forgery, kept aside with the reason. */
    private void deadLetter(ConsumerRecord<String, byte[]> record, String where, String reason) {
        metrics.counter("steergate.job.results.dead.lettered").increment();
        deadLetters.setAside(config.jobResultsDlqTopic(), record,
                ErrorInfo.of(ErrorCode.INVALID_REQUEST, "job result " + where + " " + reason));
    }
}
