package io.steergate.outbox;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** A Kafka record waiting to be published: written in the transaction of the state it announces. */
@Entity
@Table(name = "outbox")
public class OutboxEvent extends PanacheEntityBase {

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    public Long id;

    public String topic;

    @Column(name = "message_key", columnDefinition = "text")
    public String messageKey;

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
}
