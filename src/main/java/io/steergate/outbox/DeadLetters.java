package io.steergate.outbox;

import io.steergate.messages.ErrorInfo;
import io.steergate.messages.SafeText;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jboss.logging.Logger;

/**
 * Dead-letter topics: a record we cannot use is put on one unchanged (key and bytes as received), with the reason in
 * the {@value #ERROR_CODE_HEADER} and {@value #ERROR_MESSAGE_HEADER} headers, through the outbox, so that it is
 * published if and only if the consumer's decision to skip it is durable.
 */
@ApplicationScoped
public class DeadLetters {

    public static final String ERROR_CODE_HEADER = "steergate-error-code";
    public static final String ERROR_MESSAGE_HEADER = "steergate-error-message";

    private static final Logger LOG = Logger.getLogger(DeadLetters.class);

    @Inject
    Outbox outbox;

    /**
     * Queues {@code raw} under {@code key}, both the bytes as received, for {@code topic} in the caller's transaction
     * (or a new one).
     */
    @Transactional
    public void put(String topic, byte[] raw, byte[] key, ErrorInfo error) {
        outbox.append(topic, key, raw == null ? new byte[0] : raw,
                Map.of(ERROR_CODE_HEADER, error.code(), ERROR_MESSAGE_HEADER, error.message()));
        // the log line only: a key that is not UTF-8 shows U+FFFD here, the record keeps its bytes
        String shown = key == null ? null : new String(key, StandardCharsets.UTF_8);
        LOG.infof("dead-lettered a message to %s with key %s: %s %s", topic, SafeText.of(shown, 128), error.code(),
                error.message());
    }

    /**
     * Sets aside a consumed record of one of our internal topics (only our own services write them, so such a record
     * is a bug or a forgery): waits out a database outage, and when even that fails for good logs it loudly, so
     * that the consumer always moves on.
     */
    public void setAside(String topic, ConsumerRecord<String, byte[]> record, ErrorInfo error) {
        String where = record.topic() + "-" + record.partition() + "@" + record.offset();
        try {
            byte[] key = record.key() == null ? null : record.key().getBytes(StandardCharsets.UTF_8);
            Retry.untilDone("dead-lettering " + where + " to " + topic, () -> put(topic, record.value(), key, error));
        } catch (Retry.PermanentFailure lost) {
            LOG.errorf("record %s skipped: it could not be dead-lettered either (%s %s): %s", where, error.code(),
                    error.message(), Failures.rootMessage(lost.getCause()));
        }
    }
}
