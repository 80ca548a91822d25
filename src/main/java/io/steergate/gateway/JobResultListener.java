package io.steergate.gateway;

import io.steergate.resilience.Retry;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.annotations.Blocking;
import io.steergate.messages.Channels;
import io.steergate.messages.JobResult;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/** Consumes steer.job-results: stores each outcome, its audit record and its result in one transaction, then acks. */
@ApplicationScoped
public class JobResultListener {

    private static final Logger LOG = Logger.getLogger(JobResultListener.class);

    @Inject
    GenerationService generations;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry metrics;

    @Incoming(Channels.JOB_RESULTS)
    @Blocking
    public void onJobResult(ConsumerRecord<String, byte[]> record) {
        JobResult outcome;
        try {
            outcome = json.readValue(record.value(), JobResult.class);
        } catch (IOException | RuntimeException e) {
            // Only our workers write this topic: an unreadable record is a bug, reported loudly, never a stuck consumer.
            metrics.counter("steergate.job.results.unreadable").increment();
            LOG.errorf("unreadable job result at %s-%d@%d (key %s) skipped: %s; payload starts %s", record.topic(),
                    record.partition(), record.offset(), record.key(), e.getMessage(), excerpt(record.value()));
            return;
        }
        Retry.untilDone("completing " + outcome.requestId(), () -> { generations.complete(outcome); return null; });
    }

    private static String excerpt(byte[] value) {
        if (value == null) return "<null>";
        String text = new String(value, 0, Math.min(value.length, 200), StandardCharsets.UTF_8);
        return text.replace('\n', ' ');
    }
}
