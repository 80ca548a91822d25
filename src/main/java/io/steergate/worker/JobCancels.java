package io.steergate.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.messages.JobCancel;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logging.Logger;

/**
 * The cancels gateways send when the client of a streamed job went away ({@link JobCancel} on steer.job-cancels),
 * read on their own thread from every partition (assigned, no consumer group: every worker needs every cancel) from
 * the end, since a cancel sent before this worker started concerns no job it is running. The job loop asks
 * {@link #cancelled} about its jobs, running or queued.
 *
 * <p>Memory is bounded: a cancel is remembered until {@code keep} has passed (set it to the gateway's request
 * deadline: a request older than that has ended anyway) and at most {@code cap} at once (the oldest-expiring are
 * dropped first when full). Best effort: a cancel this worker misses or forgets (a restart) lets the job run to its
 * end, which costs time, never a wrong answer.
 */
final class JobCancels implements Runnable {

    private static final Logger LOG = Logger.getLogger(JobCancels.class);

    private final Consumer<String, byte[]> consumer;
    private final String topic;
    private final ObjectMapper json;
    private final long keepMs;
    private final int cap;
    private final LongSupplier clockMs;
    /** Job key -> when its cancel is forgotten, epoch ms. */
    private final Map<String, Long> cancels = new ConcurrentHashMap<>();
    private volatile boolean running = true;

    JobCancels(Consumer<String, byte[]> consumer, String topic, ObjectMapper json, Duration keep, int cap, LongSupplier clockMs) {
        this.consumer = consumer;
        this.topic = topic;
        this.json = json;
        this.keepMs = keep.toMillis();
        this.cap = cap;
        this.clockMs = clockMs;
    }

    /** Whether the client of job {@code requestId} went away (and the cancel is still remembered). */
    boolean cancelled(String requestId) {
        Long until = cancels.get(requestId);
        return until != null && until > clockMs.getAsLong();
    }

    /** True when no cancel is remembered: the loop then skips looking its jobs up. */
    boolean none() {
        return cancels.isEmpty();
    }

    /** The job ended: its cancel is needed no more. */
    void forget(String requestId) {
        cancels.remove(requestId);
    }

    int remembered() {
        return cancels.size();
    }

    void remember(String requestId) {
        long now = clockMs.getAsLong();
        if (cancels.size() >= cap) {
            cancels.values().removeIf(until -> until <= now);
            if (cancels.size() >= cap) {
                dropSoonestExpiring();
            }
        }
        cancels.put(requestId, now + keepMs);
    }

    private void dropSoonestExpiring() {
        String soonest = null;
        long until = Long.MAX_VALUE;
        for (Iterator<Map.Entry<String, Long>> it = cancels.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Long> entry = it.next();
            if (entry.getValue() < until) {
                until = entry.getValue();
                soonest = entry.getKey();
            }
        }
        if (soonest != null) {
            cancels.remove(soonest);
        }
    }

    void stop() {
        running = false;
        consumer.wakeup();
    }

    @Override
    public void run() {
        try {
            assignFromTheEnd();
            while (running) {
                try {
                    for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                        take(record);
                    }
                } catch (WakeupException e) {
                    throw e;
                } catch (RuntimeException e) {
                    LOG.warnf("reading %s failed, trying again: %s", topic, Failures.reason(e));
                    Retry.backOff(Retry.pauseMs(1));
                }
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** Waits (with backoff) until the topic's partitions are known: the broker may be away at start. */
    private void assignFromTheEnd() {
        for (int attempt = 1; running; attempt++) {
            try {
                List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
                if (infos != null && !infos.isEmpty()) {
                    List<TopicPartition> partitions = infos.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
                    consumer.assign(partitions);
                    consumer.seekToEnd(partitions);
                    return;
                }
                LOG.warnf("%s has no partitions yet; streamed jobs cannot be cancelled until it has", topic);
            } catch (WakeupException e) {
                throw e;
            } catch (RuntimeException e) {
                LOG.warnf("reading the partitions of %s failed, streamed jobs cannot be cancelled until it works: %s", topic,
                        Failures.reason(e));
            }
            Retry.backOff(Retry.pauseMs(attempt));
        }
    }

    private void take(ConsumerRecord<String, byte[]> record) {
        try {
            JobCancel cancel = record.value() == null ? null : json.readValue(record.value(), JobCancel.class);
            String id = cancel != null && cancel.requestId() != null ? cancel.requestId() : record.key();
            if (id != null) {
                remember(id);
            }
        } catch (java.io.IOException e) {
            LOG.warnf("an unreadable cancel at %s-%d@%d is ignored: %s", record.topic(), record.partition(), record.offset(),
                    Failures.reason(e));
        }
    }
}
