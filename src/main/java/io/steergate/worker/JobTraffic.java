package io.steergate.worker;

import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logging.Logger;

/**
 * The Kafka side both job loops share, used on the loop's thread: polls, waits out a dependency with the partitions
 * paused, publishes with the broker's acknowledgement, rewinds and commits.
 *
 * <p>A transient failure (Failures.isTransient: the database or the broker away) pauses the assigned partitions and
 * retries the same step with Retry.pauseMs backoff, polling meanwhile so that the consumer stays in its group; the
 * loop reports not ready until the step goes through.
 */
final class JobTraffic {

    private static final Logger LOG = Logger.getLogger(JobTraffic.class);
    private static final long ACK_WAIT_MS = 30_000;
    private static final long STALE_POLL_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final Consumer<String, byte[]> consumer;
    private final Producer<String, byte[]> producer;
    private volatile boolean running = true;
    private volatile boolean waiting;
    private volatile long lastPollNanos = System.nanoTime();

    JobTraffic(Consumer<String, byte[]> consumer, Producer<String, byte[]> producer) {
        this.consumer = consumer;
        this.producer = producer;
    }

    Consumer<String, byte[]> consumer() {
        return consumer;
    }

    boolean running() {
        return running;
    }

    /** True while a step waits on a dependency: partitions assigned meanwhile are to be paused too. */
    boolean waiting() {
        return waiting;
    }

    /** Running, not waiting on a dependency, and polled within the last minute (a step takes far less). */
    boolean healthy() {
        return running && !waiting && System.nanoTime() - lastPollNanos < STALE_POLL_NANOS;
    }

    /** Ends the loop after the step in hand; a wait on a dependency ends at once. */
    void stop() {
        running = false;
        consumer.wakeup();
    }

    /**
     * Runs {@code iteration} until {@link #stop}, then closes the consumer. A failure goes to {@code recover}, unless
     * it is the wakeup of a stop, which ends the loop.
     */
    void loop(Runnable iteration, java.util.function.Consumer<Throwable> recover) {
        try {
            while (running) {
                try {
                    iteration.run();
                } catch (RuntimeException | Error e) {
                    if (!running) {
                        break; // stop() woke the consumer up
                    }
                    recover.accept(e);
                }
            }
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** One poll that waits for work, then a short second one so that jobs arriving together start together. */
    List<ConsumerRecord<String, byte[]>> gather(int batchSize, int batchWaitMs) {
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        poll(Duration.ofMillis(500)).forEach(records::add);
        if (!records.isEmpty() && records.size() < batchSize && batchWaitMs > 0) {
            poll(Duration.ofMillis(batchWaitMs)).forEach(records::add);
        }
        return records;
    }

    ConsumerRecords<String, byte[]> poll(Duration timeout) {
        lastPollNanos = System.nanoTime();
        return consumer.poll(timeout);
    }

    /**
     * Runs {@code step} until it goes through. While it fails transiently the assigned partitions are paused and the
     * consumer keeps polling (paused partitions return nothing), so it stays in its group; partitions assigned
     * meanwhile are paused too. Anything else is thrown.
     */
    <T> T untilDone(String what, Supplier<T> step) {
        boolean paused = false;
        try {
            for (int attempt = 1; ; attempt++) {
                try {
                    T value = step.get();
                    if (paused) {
                        LOG.infof("%s went through at attempt %d; taking jobs again", what, attempt);
                    }
                    return value;
                } catch (RuntimeException e) {
                    if (!running || !Failures.isTransient(e)) {
                        throw e;
                    }
                    if (!paused) {
                        paused = true;
                        waiting = true;
                        consumer.pause(consumer.assignment());
                        LOG.warnf("%s failed, job partitions paused until it goes through: %s", what, Failures.reason(e));
                    } else if (attempt % 30 == 0) {
                        LOG.warnf("%s still failing at attempt %d: %s", what, attempt, Failures.reason(e));
                    }
                    pollPaused(Retry.pauseMs(attempt));
                }
            }
        } finally {
            if (paused) {
                consumer.resume(consumer.assignment());
                waiting = false;
            }
        }
    }

    private void pollPaused(long ms) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        do {
            var stray = poll(Duration.ofNanos(Math.max(TimeUnit.MILLISECONDS.toNanos(1), end - System.nanoTime())));
            // every assigned partition is paused, so nothing is expected; were something returned, skipping it could
            // let a later commit pass over it, so it is taken again after the wait
            rewind(stray);
        } while (running && System.nanoTime() < end);
    }

    /** Moves each owned partition of {@code records} back to its first record there. */
    void rewind(Iterable<ConsumerRecord<String, byte[]>> records) {
        Map<TopicPartition, Long> first = new HashMap<>();
        for (ConsumerRecord<String, byte[]> record : records) {
            first.merge(new TopicPartition(record.topic(), record.partition()), record.offset(), Math::min);
        }
        seek(first);
    }

    /** Moves each owned partition of {@code offsets} to its offset. */
    void seek(Map<TopicPartition, Long> offsets) {
        Set<TopicPartition> owned = consumer.assignment();
        offsets.forEach((partition, offset) -> {
            if (owned.contains(partition)) {
                consumer.seek(partition, offset);
            }
        });
    }

    /** Commits the offsets of the owned partitions among {@code offsets}; every result below them is acknowledged by now. */
    void commit(Map<TopicPartition, OffsetAndMetadata> offsets) {
        Set<TopicPartition> owned = consumer.assignment();
        Map<TopicPartition, OffsetAndMetadata> mine = new HashMap<>(offsets);
        mine.keySet().retainAll(owned);
        if (mine.isEmpty()) {
            return;
        }
        try {
            consumer.commitSync(mine);
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
            consumer.commitSync(mine); // stopping: the wakeup was meant for the next poll, these results are out
        } catch (RuntimeException e) {
            // After a rebalance the new owner redoes these jobs; the gateway keeps one outcome per request.
            LOG.warnf("committing job offsets failed, the next commit covers them (a restart first generates them again): %s",
                    Failures.reason(e));
        }
    }

    /**
     * Sends the records without waiting: their acknowledgements, to be checked with {@link #acknowledged} (a send the
     * producer refuses at once comes back as a failed acknowledgement).
     */
    List<Future<RecordMetadata>> send(List<ProducerRecord<String, byte[]>> records) {
        List<Future<RecordMetadata>> acks = new ArrayList<>(records.size());
        for (ProducerRecord<String, byte[]> record : records) {
            try {
                acks.add(producer.send(record));
            } catch (RuntimeException e) {
                acks.add(CompletableFuture.failedFuture(e));
            }
        }
        return acks;
    }

    /** Waits for every acknowledgement (each up to the usual wait); whether all came and none failed. */
    static boolean awaitAcknowledged(List<Future<RecordMetadata>> acks) {
        try {
            acks.forEach(JobTraffic::awaitAck);
            return true;
        } catch (IllegalStateException e) {
            return false;
        }
    }

    /** Whether every acknowledgement came and none failed (false also while some are still out). */
    static boolean acknowledged(List<Future<RecordMetadata>> acks) {
        for (Future<RecordMetadata> ack : acks) {
            if (!ack.isDone()) {
                return false;
            }
            try {
                ack.get();
            } catch (ExecutionException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** Sends the records and waits until the broker acknowledged every one, retrying while it is away. */
    void publish(List<ProducerRecord<String, byte[]>> records) {
        if (records.isEmpty()) {
            return;
        }
        untilDone("publishing " + records.size() + " records", () -> {
            List<Future<RecordMetadata>> acks = new ArrayList<>(records.size());
            for (ProducerRecord<String, byte[]> record : records) {
                acks.add(producer.send(record));
            }
            for (Future<RecordMetadata> ack : acks) {
                awaitAck(ack);
            }
            return null;
        });
    }

    private static void awaitAck(Future<RecordMetadata> ack) {
        try {
            ack.get(ACK_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("the broker refused a record: " + Failures.rootMessage(e), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("no broker acknowledgement within " + ACK_WAIT_MS + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the broker", e);
        }
    }

    boolean owns(ConsumerRecord<String, byte[]> record) {
        return consumer.assignment().contains(new TopicPartition(record.topic(), record.partition()));
    }

    /** Where the innermost cause was thrown, so one log line can lead to the code. */
    static String where(Throwable failure) {
        Throwable root = failure;
        for (int depth = 0; root.getCause() != null && root.getCause() != root && depth < 32; depth++) {
            root = root.getCause();
        }
        StackTraceElement[] trace = root.getStackTrace();
        return trace.length == 0 ? "an unknown place" : trace[0].toString();
    }
}
