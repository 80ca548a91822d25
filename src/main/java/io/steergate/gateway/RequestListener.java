package io.steergate.gateway;

import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.annotations.Blocking;
import io.steergate.kafka.KafkaMode;
import io.steergate.messages.Channels;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.SafeText;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Consumes the requests topics: steer.requests, or in the per-tenant Kafka mode every tenant's steer.requests.<tenant>,
 * whose tenant is the request's (a body naming another is REJECTED TENANT_MISMATCH, stored and answered under the
 * topic's tenant). Each message is decoded, then stored as a new job, a rejection or a dead letter; the
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
    KafkaTopicRouting topics;

    @Inject
    MeterRegistry metrics;

    // Blocking: Hibernate ORM and JDBC are blocking, so this runs on a worker thread, in order.
    @Incoming(Channels.REQUESTS)
    @Blocking
    public void onRequest(ConsumerRecord<byte[], byte[]> record) throws InterruptedException {
        awaitGate();
        String where = record.topic() + "-" + record.partition() + "@" + record.offset();
        Optional<String> topicTenant = topics.tenantOf(record.topic());
        if (topics.mode() == KafkaMode.PER_TENANT && topicTenant.isEmpty()) {
            refuseTopic(record, where);
            return;
        }
        DecodedRequest read = decoders.decoder().decode(record.value(), topicTenant.orElse(null));
        DecodedRequest decoded = topicTenant.map(tenant -> boundTo(tenant, record.topic(), read)).orElse(read);
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

    /**
     * A request read from {@code topic}, the requests topic of {@code tenant}, as that tenant's: a body naming another
     * tenant is refused TENANT_MISMATCH, and a rejection without a readable tenant (an invalid tenant field, a message
     * over the size limit) is answered to the topic's tenant, never to the one the body names.
     */
    static DecodedRequest boundTo(String tenant, String topic, DecodedRequest decoded) {
        if (decoded instanceof DecodedRequest.Unreadable || tenant.equals(decoded.tenant())) {
            return decoded;
        }
        if (decoded.tenant() == null) {
            return new DecodedRequest.Invalid(decoded.id(), tenant, ((DecodedRequest.Invalid) decoded).error());
        }
        return new DecodedRequest.Invalid(decoded.id(), tenant, ErrorInfo.of(ErrorCode.TENANT_MISMATCH, "tenant: the body names "
                + SafeText.of(decoded.tenant(), 64) + ", but requests on " + topic + " are " + tenant + "'s; omit the field or name " + tenant));
    }

    /**
     * The per-tenant subscription pattern admits only tenants' requests topics; a record from any other (an operator
     * replaced the pattern) has no tenant to answer to, so it goes to the shared dead-letter topic with the reason.
     */
    private void refuseTopic(ConsumerRecord<byte[], byte[]> record, String where) {
        ErrorInfo error = ErrorInfo.of(ErrorCode.TENANT_MISMATCH, "topic " + SafeText.of(record.topic(), 255)
                + " is no tenant's requests topic: in the per-tenant Kafka mode requests arrive on steer.requests.<tenant>");
        try {
            deadLetter(record, error, where);
        } catch (Retry.PermanentFailure lost) {
            metrics.counter("steergate.requests.unanswerable").increment();
            LOG.errorf("message %s skipped: it could not be dead-lettered either: %s", where, Failures.rootMessage(lost.getCause()));
        }
    }

    /** The last resorts, in order: a FAILED result for the id, else the message on the DLQ, else a loud skip. */
    private void answerUnstorable(ConsumerRecord<byte[], byte[]> record, DecodedRequest decoded, String where,
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

    private void deadLetter(ConsumerRecord<byte[], byte[]> record, ErrorInfo error, String where) {
        Retry.untilDone("dead-lettering " + where, () -> generations.deadLetter(record.topic(), record.value(), record.key(), error));
    }

    private void awaitGate() throws InterruptedException {
        while (!gate.await(Duration.ofSeconds(30))) {
            LOG.info("requests wait: policies and interventions are not loaded yet");
        }
    }
}
