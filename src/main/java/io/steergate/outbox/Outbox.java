package io.steergate.outbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Status;
import jakarta.transaction.Synchronization;
import jakarta.transaction.TransactionSynchronizationRegistry;
import jakarta.transaction.Transactional;
import java.time.Instant;
import java.util.Map;

/**
 * Appends records to the transactional outbox. MANDATORY: a record is only ever written together with the state
 * change it announces, so a crash can neither lose it nor publish it for a rolled-back change.
 */
@ApplicationScoped
public class Outbox {

    @Inject
    ObjectMapper json;

    @Inject
    TransactionSynchronizationRegistry transactions;

    @Inject
    OutboxRelay relay;

    @Transactional(Transactional.TxType.MANDATORY)
    public void append(String topic, String key, byte[] payload, Map<String, String> headers) {
        OutboxEvent event = new OutboxEvent();
        event.key(key);
        append(event, topic, payload, headers);
    }

    /** As {@link #append(String, String, byte[], Map)}, with a key of bytes, sent exactly as given (a received key). */
    @Transactional(Transactional.TxType.MANDATORY)
    public void append(String topic, byte[] key, byte[] payload, Map<String, String> headers) {
        OutboxEvent event = new OutboxEvent();
        event.keyFromBytes(key);
        append(event, topic, payload, headers);
    }

    private void append(OutboxEvent event, String topic, byte[] payload, Map<String, String> headers) {
        event.topic = topic;
        event.payload = payload;
        event.headersJson = headers == null || headers.isEmpty() ? null : writeHeaders(headers);
        event.createdAt = Instant.now();
        event.persist();
        // Wake the relay as soon as this commits instead of waiting for its next poll.
        transactions.registerInterposedSynchronization(new Synchronization() {
            @Override
            public void beforeCompletion() {}

            @Override
            public void afterCompletion(int status) {
                if (status == Status.STATUS_COMMITTED) {
                    relay.wake();
                }
            }
        });
    }

    private String writeHeaders(Map<String, String> headers) {
        try {
            return json.writeValueAsString(headers);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("headers must serialise as JSON", e);
        }
    }
}
