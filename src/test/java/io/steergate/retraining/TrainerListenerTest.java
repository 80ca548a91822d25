package io.steergate.retraining;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * {@link TrainerListener} with a stand-in trainer: a failure the trainer lets through must not reach Reactive
 * Messaging, whose nack would close the retraining consumer for the life of the process.
 */
class TrainerListenerTest {

    @Test
    void aTrainerFailureIsCountedAndTheListenerGoesOn() {
        List<UUID> trained = new ArrayList<>();
        SimpleMeterRegistry metrics = new SimpleMeterRegistry();
        TrainerListener listener = new TrainerListener();
        listener.json = new ObjectMapper();
        listener.metrics = metrics;
        listener.trainer = new Trainer() {
            @Override
            public void train(UUID id) {
                trained.add(id);
                throw new OutOfMemoryError("Java heap space");
            }
        };
        UUID id = UUID.randomUUID();
        listener.onRetraining(new ConsumerRecord<>("steer.retraining", 0, 0L, "kindness",
                ("{\"jobId\":\"" + id + "\"}").getBytes(StandardCharsets.UTF_8)));
        assertEquals(List.of(id), trained);
        assertEquals(1, metrics.counter("steergate.retraining.jobs", "outcome", "crashed").count());
    }
}
