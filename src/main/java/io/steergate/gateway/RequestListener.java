package io.steergate.gateway;

import io.steergate.resilience.Retry;
import io.smallrye.reactive.messaging.annotations.Blocking;
import io.steergate.messages.Channels;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;

/**
 * Consumes steer.requests. Each message is decoded, then stored as a new job, a rejection or a dead letter; the
 * offset is acknowledged only after that transaction commits (post-processing ack), so a crash redelivers it.
 */
@ApplicationScoped
public class RequestListener {

    @Inject
    GenerationService generations;

    @Inject
    RequestDecoders decoders;

    // Blocking: Hibernate ORM and JDBC are blocking, so this runs on a worker thread, in order.
    @Incoming(Channels.REQUESTS)
    @Blocking
    public void onRequest(ConsumerRecord<String, byte[]> record) {
        DecodedRequest decoded = decoders.decoder().decode(record.value());
        if (decoded instanceof DecodedRequest.Unreadable unreadable) {
            Retry.untilDone("dead-lettering " + record.topic() + "@" + record.offset(),
                    () -> { generations.deadLetter(record.value(), record.key(), unreadable.error()); return null; });
        } else {
            Retry.untilDone("accepting " + record.topic() + "@" + record.offset(),
                    () -> generations.accept(decoded, Generation.Source.KAFKA));
        }
    }
}
