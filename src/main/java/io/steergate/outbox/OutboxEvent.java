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
import java.util.Arrays;

/** A Kafka record waiting to be published: written in the transaction of the state it announces. */
@Entity
@Table(name = "outbox")
public class OutboxEvent extends PanacheEntityBase {

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    public Long id;

    public String topic;

    /**
     * The record's key; null when it holds U+0000, which text refuses, or when it is bytes no text gives back (not
     * UTF-8): then {@link #messageKeyBytes} holds it.
     */
    @Column(name = "message_key", columnDefinition = "text")
    public String messageKey;

    /** The key's bytes, only where {@link #messageKey} cannot hold it; null otherwise. */
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

    /**
     * Stores a key of bytes in the column that gives them back exactly: the text column when they are UTF-8 it can
     * hold (what a gateway of the previous release reads), else the bytes column.
     */
    void keyFromBytes(byte[] key) {
        String text = key == null ? null : new String(key, StandardCharsets.UTF_8);
        // bytes that are not UTF-8 decode to U+FFFD, which encodes to other bytes: only an exact round trip is text
        if (key == null || (text.indexOf('\u0000') < 0 && Arrays.equals(text.getBytes(StandardCharsets.UTF_8), key))) {
            messageKey = text;
            messageKeyBytes = null;
        } else {
            messageKey = null;
            messageKeyBytes = key.clone();
        }
    }

    /** The key as sent: the bytes StringSerializer made of every key before the bytes column existed. */
    byte[] keyBytes() {
        if (messageKeyBytes != null) {
            return messageKeyBytes;
        }
        return messageKey == null ? null : messageKey.getBytes(StandardCharsets.UTF_8);
    }
}
