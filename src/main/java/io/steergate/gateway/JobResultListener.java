package io.steergate.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.annotations.Blocking;
import io.steergate.messages.Channels;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
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
        if (outcome.requestId() == null || outcome.status() == null) {
            deadLetter(record, where, "not a JobResult: " + (outcome.requestId() == null ? "requestId" : "status") + " is missing");
            return;
        }
        try {
            Retry.untilDone("completing " + SafeText.of(outcome.requestId(), 128), () -> generations.complete(outcome));
        } catch (Retry.PermanentFailure refused) {
            deadLetter(record, where, "could not be stored: " + Failures.rootMessage(refused.getCause()));
        }
    }

    /** Only our workers write this topic: a record we cannot use is a bug or a forgery, kept aside with the reason. */
    private void deadLetter(ConsumerRecord<String, byte[]> record, String where, String reason) {
        metrics.counter("steergate.job.results.dead.lettered").increment();
        deadLetters.setAside(config.jobResultsDlqTopic(), record,
                ErrorInfo.of(ErrorCode.INVALID_REQUEST, "job result " + where + " " + reason));
    }
}
