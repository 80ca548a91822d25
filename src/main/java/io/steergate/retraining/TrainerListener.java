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
 * FAILED; the offset is acked afterwards. A redelivered record finds its job finished (or running live) and is skipped.
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
        trainer.train(id);
    }
}
