package io.steergate.outbox;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/** A Kafka record waiting to be published: written in the transaction of the state it announces. */
@Entity
@Table(name = "outbox")
public class OutboxEvent extends PanacheEntityBase {

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    public Long id;

    public String topic;

    /** The record's key; null when it holds U+0000, which text refuses: then {@link #messageKeyBytes} holds it. */
    @Column(name = "message_key", columnDefinition = "text")
    public String messageKey;

    /** The key as UTF-8 bytes, only where {@link #messageKey} cannot hold it; null otherwise. */
    @Column(name = "message_key_bytes")
    public byte[] messageKeyBytes;

    public byte[] payload;

    /** JSON object of header name to UTF-8 value, or null. */
    @Column(name = "headers_json", columnDefinition = "text")
    public String headersJson;

    @Column(name = "created_at")
    public Instant createdAt;

    /** How often the broker refused this record for good (transient failures do not count). */
    public int attempts;

    /** The broker's reason for the latest refusal. */
    @Column(name = "last_error", columnDefinition = "text")
    public String lastError;

    /** When the record was set aside after steergate.outbox.max-attempts refusals; null while it waits to be published. */
    @Column(name = "set_aside_at")
    public Instant setAsideAt;

    /** Stores {@code key} in the column that can hold it. */
    void key(String key) {
        boolean text = key == null || key.indexOf('\u0000') < 0;
        messageKey = text ? key : null;
        messageKeyBytes = text ? null : key.getBytes(StandardCharsets.UTF_8);
    }

    /** The key as sent: the bytes StringSerializer made of every key before the bytes column existed. */
    byte[] keyBytes() {
        if (messageKeyBytes != null) {
            return messageKeyBytes;
        }
        return messageKey == null ? null : messageKey.getBytes(StandardCharsets.UTF_8);
    }
}
