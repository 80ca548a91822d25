package io.steergate.retraining;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.annotations.Blocking;
import io.steergate.messages.Channels;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.RetrainingRequest;
import io.steergate.messages.SafeText;
import io.steergate.outbox.DeadLetters;
import io.steergate.resilience.Retry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Consumes steer.retraining (trainer role): each record names a stored job, which {@link Trainer} runs to SUCCEEDED or
 * FAILED; the offset is acked afterwards, never before (a database outage pauses the trainer inside it, and the
 * channel allows a record to stay unacked that long). A redelivered record finds its job finished (or running live)
 * and is skipped. Whatever a record leaves unfinished, {@link RetrainingRecovery} takes up again. A record that names no
 * job (not JSON, no UUID in jobId, no such job) goes to the retraining dead-letter topic with the reason, and the consumer moves on.
 */
@ApplicationScoped
public class TrainerListener {

    private static final Logger LOG = Logger.getLogger(TrainerListener.class);

    @Inject
    Trainer trainer;

    @Inject
    RetrainingService jobs;

    @Inject
    ObjectMapper json;

    @Inject
    DeadLetters deadLetters;

    @Inject
    RetrainingConfig config;

    @Inject
    MeterRegistry metrics;

    // Blocking and ordered: one job at a time per trainer, on a worker thread (training and JDBC block).
    @Incoming(Channels.RETRAINING)
    @Blocking
    public void onRetraining(ConsumerRecord<String, byte[]> record) {
        UUID id = jobId(record);
        if (id == null || !known(record, id)) {
            return;
        }
        try {
            trainer.train(id);
        } catch (RuntimeException | Error e) {
            // Trainer handles every expected failure; anything else must not nack, which would close the consumer for
            // good. The job stays QUEUED or RUNNING, so the sweep restarts it, within max-attempts trainings.
            metrics.counter("steergate.retraining.jobs", "outcome", "crashed").increment();
            LOG.errorf(e, "retraining job %s left to the recovery sweep: the trainer failed", id);
        }
    }

    /** The job the record names; null when it names none, after the record is dead-lettered with the reason. */
    private UUID jobId(ConsumerRecord<String, byte[]> record) {
        JsonNode value;
        try {
            value = json.readTree(record.value());
        } catch (IOException | IllegalArgumentException e) { // IllegalArgumentException: no value at all
            return deadLetter(record, ErrorCode.NOT_JSON, "not JSON: " + e.getMessage());
        }
        if (value == null || !value.isObject()) {
            return deadLetter(record, ErrorCode.NOT_AN_OBJECT, "not a JSON object");
        }
        String jobId;
        try {
            jobId = json.treeToValue(value, RetrainingRequest.class).jobId();
        } catch (IOException | IllegalArgumentException e) {
            jobId = null;
        }
        if (jobId == null) {
            return deadLetter(record, ErrorCode.INVALID_ID, "jobId: must be a string (a job's UUID)");
        }
        try {
            return UUID.fromString(jobId);
        } catch (IllegalArgumentException e) {
            return deadLetter(record, ErrorCode.INVALID_ID, "jobId: not a UUID: '" + SafeText.of(jobId, 64) + "'");
        }
    }

    /**
     * Whether the job exists; a record naming one that does not is dead-lettered. The job row commits with the outbox
     * row that publishes its record, so only a forged record (or a database reset) names an unknown job. When the
     * lookup fails for good the trainer decides, as before this check.
     */
    private boolean known(ConsumerRecord<String, byte[]> record, UUID id) {
        try {
            if (Retry.untilDone("looking up retraining job " + id, () -> jobs.exists(id))) {
                return true;
            }
        } catch (Retry.PermanentFailure e) {
            return true;
        }
        deadLetter(record, ErrorCode.NOT_FOUND, "jobId: no such job " + id);
        return false;
    }

    /** Only our outbox writes this topic: a record we cannot read is a bug or a forgery, set aside with the reason. */
    private UUID deadLetter(ConsumerRecord<String, byte[]> record, ErrorCode code, String reason) {
        metrics.counter("steergate.retraining.requests.dead.lettered", "code", code.name()).increment();
        deadLetters.setAside(config.dlqTopic(), record, ErrorInfo.of(code, "retraining request " + record.topic() + "-"
                + record.partition() + "@" + record.offset() + ": " + reason));
        return null;
    }
}
