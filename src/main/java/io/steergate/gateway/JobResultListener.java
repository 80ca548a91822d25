package io.steergate.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.annotations.Blocking;
import io.steergate.messages.Channels;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.JobResult;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Consumes steer.job-results: stores each outcome, its audit record and its result in one transaction, then acks.
 * While the database is away it waits; a record that cannot be read or stored for good goes to the job-results
 * dead-letter topic with the reason (its request then ends by the deadline), and the consumer moves on.
 */
@ApplicationScoped
public class JobResultListener {

    private static final Logger LOG = Logger.getLogger(JobResultListener.class);

    @Inject
    GenerationService generations;

    @Inject
    GatewayConfig config;

    @Inject
    ObjectMapper json;

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
        if (!RequestDecoder.ID.matcher(outcome.requestId()).matches()) {
            // no request has such an id; logged or looked up as it is, it could carry newlines or U+0000 (which
            // PostgreSQL refuses) or be any length
            deadLetter(record, where, "not a JobResult: requestId must be 1-128 characters of [A-Za-z0-9._:-]");
            return;
        }
        try {
            Retry.untilDone("completing " + outcome.requestId(), () -> generations.complete(outcome));
        } catch (Retry.PermanentFailure refused) {
            deadLetter(record, where, "could not be stored: " + Failures.rootMessage(refused.getCause()));
        }
    }

    /** Only our workers write this topic: a record we cannot use is a bug or a forgery, kept aside with the reason. */
    private void deadLetter(ConsumerRecord<String, byte[]> record, String where, String reason) {
        ErrorInfo error = ErrorInfo.of(ErrorCode.INVALID_REQUEST, "job result " + where + " " + reason);
        metrics.counter("steergate.job.results.dead.lettered").increment();
        try {
            Retry.untilDone("dead-lettering job result " + where,
                    () -> generations.deadLetter(config.jobResultsDlqTopic(), record.value(), record.key(), error));
        } catch (Retry.PermanentFailure lost) {
            LOG.errorf("job result %s skipped: it could not be dead-lettered either: %s", where, Failures.rootMessage(lost.getCause()));
        }
    }
}
