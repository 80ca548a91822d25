package io.steergate.retraining;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.steergate.messages.ErrorInfo;
import io.steergate.outbox.DeadLetters;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * {@link TrainerListener} with a stand-in trainer and dead-letter topic: a failure the trainer lets through must not
 * reach Reactive Messaging, whose nack would close the retraining consumer for the life of the process, and a record
 * that names no job is set aside with the reason instead of being dropped.
 */
class TrainerListenerTest {

    private static final UUID UNKNOWN = UUID.fromString("00000000-0000-0000-0000-00000000dead");

    private final List<UUID> trained = new ArrayList<>();
    private final List<String> deadLettered = new ArrayList<>(); // "topic key code: message"
    private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();

    @Test
    void aTrainerFailureIsCountedAndTheListenerGoesOn() {
        TrainerListener listener = listener(new Trainer() {
            @Override
            public void train(UUID id) {
                trained.add(id);
                throw new OutOfMemoryError("Java heap space");
            }
        });
        UUID id = UUID.randomUUID();
        listener.onRetraining(record("kindness", "{\"jobId\":\"" + id + "\"}"));
        assertEquals(List.of(id), trained);
        assertEquals(1, metrics.counter("steergate.retraining.jobs", "outcome", "crashed").count());
        assertEquals(List.of(), deadLettered);
    }

    @Test
    void aRecordThatNamesNoJobIsDeadLetteredWithTheReasonAndNothingIsTrained() {
        TrainerListener listener = listener(new Trainer() {
            @Override
            public void train(UUID id) {
                trained.add(id);
            }
        });
        listener.onRetraining(record("a", "not json"));
        listener.onRetraining(record("b", "[\"" + UUID.randomUUID() + "\"]"));
        listener.onRetraining(record("c", "{}"));
        listener.onRetraining(record("d", "{\"jobId\":{\"id\":1}}"));
        listener.onRetraining(record("e", "{\"jobId\":\"5\"}"));
        listener.onRetraining(new ConsumerRecord<>("steer.retraining", 0, 5L, "f", null));
        listener.onRetraining(record("g", "{\"jobId\":\"" + UNKNOWN + "\"}"));

        assertEquals(List.of(), trained);
        assertEquals(7, deadLettered.size(), deadLettered.toString());
        assertEquals("steer.retraining.dlq g NOT_FOUND: retraining request steer.retraining-0@0: jobId: no such job " + UNKNOWN,
                deadLettered.get(6));
        assertEquals("steer.retraining.dlq a NOT_JSON", deadLettered.get(0).substring(0, 31));
        assertEquals("steer.retraining.dlq b NOT_AN_OBJECT: retraining request steer.retraining-0@0: not a JSON object",
                deadLettered.get(1));
        assertEquals("steer.retraining.dlq c INVALID_ID: retraining request steer.retraining-0@0: jobId: must be a string"
                + " (a job's UUID)", deadLettered.get(2));
        assertEquals("steer.retraining.dlq d INVALID_ID: retraining request steer.retraining-0@0: jobId: must be a string"
                + " (a job's UUID)", deadLettered.get(3));
        assertEquals("steer.retraining.dlq e INVALID_ID: retraining request steer.retraining-0@0: jobId: not a UUID: '5'",
                deadLettered.get(4));
        assertEquals("steer.retraining.dlq f NOT_JSON", deadLettered.get(5).substring(0, 31));
        assertEquals(2, metrics.counter("steergate.retraining.requests.dead.lettered", "code", "NOT_JSON").count());
        assertEquals(3, metrics.counter("steergate.retraining.requests.dead.lettered", "code", "INVALID_ID").count());
    }

    private TrainerListener listener(Trainer trainer) {
        TrainerListener listener = new TrainerListener();
        listener.json = new ObjectMapper();
        listener.metrics = metrics;
        listener.trainer = trainer;
        listener.jobs = new RetrainingService() {
            @Override
            public boolean exists(UUID id) {
                return !id.equals(UNKNOWN);
            }
        };
        listener.deadLetters = new DeadLetters() {
            @Override
            public void setAside(String topic, ConsumerRecord<String, byte[]> record, ErrorInfo error) {
                deadLettered.add(topic + " " + record.key() + " " + error.code() + ": " + error.message());
            }
        };
        listener.config = new RetrainingConfig() {
            public String topic() { return "steer.retraining"; }
            public String dlqTopic() { return "steer.retraining.dlq"; }
            public int progressEvery() { return 25; }
            public Duration staleAfter() { return Duration.ofMinutes(5); }
            public Duration sweepEvery() { return Duration.ofSeconds(30); }
            public Duration queuedGrace() { return Duration.ofMinutes(5); }
            public int maxAttempts() { return 3; }
        };
        return listener;
    }

    private static ConsumerRecord<String, byte[]> record(String key, String value) {
        return new ConsumerRecord<>("steer.retraining", 0, 0L, key, value.getBytes(StandardCharsets.UTF_8));
    }
}
