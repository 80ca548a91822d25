package io.steergate.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.steergate.engine.model.ContinuousBatch;
import io.steergate.messages.Job;
import io.steergate.messages.JobTokens;
import io.steergate.resilience.Failures;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.jboss.logging.Logger;

/**
 * Publishes the text of a streamed job ({@link Job#stream()}) piece by piece as it is generated: one {@link JobTokens}
 * per piece, keyed by the job key so that a job's pieces stay in order. Best effort: sends are not awaited (the decode
 * step must not wait on the broker) and a failed one is counted and logged, not retried; the gateway finishes a
 * stream that misses a piece from the job's result.
 */
final class JobTokenPublisher {

    private static final Logger LOG = Logger.getLogger(JobTokenPublisher.class);

    private final Producer<String, byte[]> producer;
    private final String topic;
    private final ObjectMapper json;
    private final Counter failed;
    private final Counter sent;

    JobTokenPublisher(Producer<String, byte[]> producer, String topic, ObjectMapper json, MeterRegistry metrics) {
        this.producer = producer;
        this.topic = topic;
        this.json = json;
        failed = Counter.builder("steergate.worker.stream.pieces.failed")
                .description("Pieces of streamed text the broker did not take (the stream ends from the result)").register(metrics);
        sent = Counter.builder("steergate.worker.stream.pieces").description("Pieces of streamed text sent").register(metrics);
    }

    /** Where the text of {@code job}'s own row goes: null (none) unless the job is streamed. */
    ContinuousBatch.TokenSink sinkFor(Job job) {
        if (!job.stream()) {
            return null;
        }
        String key = job.requestId();
        return (index, tokens, text) -> publish(key, new JobTokens(key, index, tokens, text));
    }

    /** Never throws: it runs on the decode thread, and must not fail the step its row shares with others. */
    private void publish(String key, JobTokens piece) {
        sent.increment();
        try {
            producer.send(new ProducerRecord<>(topic, key, json.writeValueAsBytes(piece)), (metadata, error) -> {
                if (error != null) {
                    lost(key, error);
                }
            });
        } catch (JsonProcessingException | RuntimeException e) {
            lost(key, e);
        }
    }

    private void lost(String key, Throwable error) {
        failed.increment();
        LOG.debugf("a streamed piece of job %s was not sent: %s", key, Failures.reason(error));
    }
}
