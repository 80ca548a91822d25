package io.steergate.retraining;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.annotations.Blocking;
import io.steergate.messages.Channels;
import io.steergate.messages.RetrainingRequest;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Consumes steer.retraining (trainer role): each record names a stored job, which {@link Trainer} runs to SUCCEEDED or
 * FAILED; the offset is acked afterwards, never before (a database outage pauses the trainer inside it, and the
 * channel allows a record to stay unacked that long). A redelivered record finds its job finished (or running live)
 * and is skipped. Whatever a record leaves unfinished, {@link RetrainingRecovery} takes up again.
 */
@ApplicationScoped
public class TrainerListener {

    private static final Logger LOG = Logger.getLogger(TrainerListener.class);

    @Inject
    Trainer trainer;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry metrics;

    // Blocking and ordered: one job at a time per trainer, on a worker thread (training and JDBC block).
    @Incoming(Channels.RETRAINING)
    @Blocking
    public void onRetraining(ConsumerRecord<String, byte[]> record) {
        UUID id;
        try {
            id = UUID.fromString(json.readValue(record.value(), RetrainingRequest.class).jobId());
        } catch (Exception e) {
            // Only our outbox writes this topic: an unreadable record is a bug, reported loudly, never a stuck consumer.
            metrics.counter("steergate.retraining.requests.unreadable").increment();
            LOG.errorf("unreadable retraining request at %s-%d@%d (key %s) skipped: %s", record.topic(),
                    record.partition(), record.offset(), record.key(), e.getMessage());
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
}
