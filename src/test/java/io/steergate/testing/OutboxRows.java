package io.steergate.testing;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.steergate.outbox.OutboxEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

/** Outbox rows written behind the application's back, as its own writers would, and waiting for the relay's verdict. */
public final class OutboxRows {

    private OutboxRows() {}

    /** A row for {@code topic} with {@code payload}, not yet persisted. */
    public static OutboxEvent row(String topic, String key, String payload) {
        OutboxEvent row = new OutboxEvent();
        row.topic = topic;
        row.messageKey = key;
        row.payload = payload.getBytes(StandardCharsets.UTF_8);
        row.createdAt = Instant.now();
        return row;
    }

    /** The row once the relay has set it aside; fails after {@code wait}. */
    public static OutboxEvent awaitSetAside(long id, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (System.nanoTime() < deadline) {
            OutboxEvent row = QuarkusTransaction.requiringNew().call(() -> OutboxEvent.<OutboxEvent>findById(id));
            if (row.setAsideAt != null) {
                return row;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("outbox record " + id + " was not set aside within " + wait);
    }
}
