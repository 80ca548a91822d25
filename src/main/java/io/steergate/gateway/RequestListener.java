package io.steergate.gateway;

import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.annotations.Blocking;
import io.steergate.messages.Channels;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Consumes steer.requests. Each message is decoded, then stored as a new job, a rejection or a dead letter; the
 * offset is acknowledged only after that transaction commits (post-processing ack), so a crash redelivers it.
 * While the database is away the listener waits (the consumer stays open and resumes by itself); a message the
 * database refuses for good still gets an answer, so one message never stops the ones behind it.
 */
@ApplicationScoped
public class RequestListener {

    private static final Logger LOG = Logger.getLogger(RequestListener.class);

    @Inject
    GenerationService generations;

    @Inject
    RequestDecoders decoders;

    @Inject
    DecisionGate gate;

    @Inject
    MeterRegistry metrics;

    // Blocking: Hibernate ORM and JDBC are blocking, so this runs on a worker thread, in order.
    @Incoming(Channels.REQUESTS)
    @Blocking
    public void onRequest(ConsumerRecord<String, byte[]> record) throws InterruptedException {
        awaitGate();
        String where = record.topic() + "-" + record.partition() + "@" + record.offset();
        DecodedRequest decoded = decoders.decoder().decode(record.value());
        try {
            if (decoded instanceof DecodedRequest.Unreadable unreadable) {
                deadLetter(record, unreadable.error(), where);
            } else {
                Retry.untilDone("accepting " + where, () -> generations.accept(decoded, Generation.Source.KAFKA));
            }
        } catch (Retry.PermanentFailure refused) {
            answerUnstorable(record, decoded, where, refused);
        }
    }

    /** The last resorts, in order: a FAILED result for the id, else the message on the DLQ, else a loud skip. */
    private void answerUnstorable(ConsumerRecord<String, byte[]> record, DecodedRequest decoded, String where,
            Retry.PermanentFailure refused) {
        String reason = Failures.rootMessage(refused.getCause());
        String id = decoded.id();
        try {
            if (id != null) {
                Retry.untilDone("failing " + where, () -> generations.failUnstorable(id, decoded.tenant(), Generation.Source.KAFKA, reason));
                return;
            }
        } catch (Retry.PermanentFailure again) {
            LOG.warnf("message %s: no result could be stored either (%s); dead-lettering it", where, Failures.rootMessage(again.getCause()));
        }
        try {
            deadLetter(record, ErrorInfo.of(ErrorCode.STORAGE_FAILED, "the message could not be stored: " + reason), where);
        } catch (Retry.PermanentFailure lost) {
            metrics.counter("steergate.requests.unanswerable").increment();
            LOG.errorf("message %s skipped without an answer: neither a result nor a dead letter could be stored: %s",
                    where, Failures.rootMessage(lost.getCause()));
        }
    }

    private void deadLetter(ConsumerRecord<String, byte[]> record, ErrorInfo error, String where) {
        Retry.untilDone("dead-lettering " + where, () -> generations.deadLetter(record.value(), record.key(), error));
    }

    private void awaitGate() throws InterruptedException {
        while (!gate.await(Duration.ofSeconds(30))) {
            LOG.info("requests wait: policies and interventions are not loaded yet");
        }
    }
}
