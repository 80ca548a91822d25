package io.steergate.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.steergate.kafka.KafkaClientSettings;
import io.steergate.messages.JobCancel;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

/**
 * Asks the workers to stop a streamed job whose client went away ({@link JobCancel} on steer.job-cancels, keyed by the
 * job key). Best effort and not awaited: a worker that misses it generates the job to its end, and the request ends
 * from its JobResult either way; a failed send is counted.
 */
@ApplicationScoped
public class JobCancelPublisher {

    private static final Logger LOG = Logger.getLogger(JobCancelPublisher.class);

    @Inject
    KafkaClientSettings kafka;

    @Inject
    GatewayConfig config;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry metrics;

    private KafkaProducer<String, byte[]> producer;

    /** Asks every worker to stop {@code jobKey}; {@code reason} is for their logs. */
    public void cancel(String jobKey, String reason) {
        byte[] value;
        try {
            value = json.writeValueAsBytes(new JobCancel(jobKey, reason));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("JobCancel must serialise as JSON", e);
        }
        producer().send(new ProducerRecord<>(config.jobCancelsTopic(), jobKey, value), (metadata, failure) -> {
            if (failure != null) {
                metrics.counter("steergate.stream.cancels.failed").increment();
                LOG.warnf("cancel of %s not sent: %s", jobKey, failure.getMessage());
            }
        });
        metrics.counter("steergate.stream.cancels").increment();
    }

    private synchronized KafkaProducer<String, byte[]> producer() {
        if (producer == null) {
            producer = new KafkaProducer<>(kafka.reliableProducer("steergate-job-cancels",
                    Map.of(ProducerConfig.LINGER_MS_CONFIG, 0)), new StringSerializer(), new ByteArraySerializer());
        }
        return producer;
    }

    synchronized void stop(@Observes ShutdownEvent event) {
        if (producer != null) {
            producer.close();
            producer = null;
        }
    }
}
