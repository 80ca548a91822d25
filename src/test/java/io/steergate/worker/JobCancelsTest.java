package io.steergate.worker;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.messages.JobCancel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** The worker's reader of steer.job-cancels: every partition from its end, no group, bounded memory. */
class JobCancelsTest {

    static final String TOPIC = "steer.job-cancels";
    static final ObjectMapper JSON = new ObjectMapper();
    static final TopicPartition C0 = new TopicPartition(TOPIC, 0);
    static final TopicPartition C1 = new TopicPartition(TOPIC, 1);

    final AtomicLong now = new AtomicLong(1_000_000);

    JobCancels cancels(MockConsumer<String, byte[]> consumer, int cap) {
        return new JobCancels(consumer, TOPIC, JSON, Duration.ofMinutes(10), cap, now::get);
    }

    @Test
    void readsEveryPartitionFromItsEndWithoutAGroupAndRemembersEachCancelledJob() throws Exception {
        MockConsumer<String, byte[]> consumer = new MockConsumer<>("latest");
        Node node = new Node(0, "localhost", 9092);
        consumer.updatePartitions(TOPIC, List.of(new PartitionInfo(TOPIC, 0, node, null, null),
                new PartitionInfo(TOPIC, 1, node, null, null)));
        consumer.updateBeginningOffsets(Map.of(C0, 0L, C1, 0L));
        consumer.updateEndOffsets(Map.of(C0, 7L, C1, 3L));
        JobCancels cancels = cancels(consumer, 100);
        byte[] cancel = JSON.writeValueAsBytes(new JobCancel("g42", "client went away"));
        byte[] noReason = JSON.writeValueAsBytes(new JobCancel("g44", null));
        consumer.schedulePollTask(() -> {
            consumer.addRecord(new ConsumerRecord<>(TOPIC, 0, 7, "g42", cancel));
            consumer.addRecord(new ConsumerRecord<>(TOPIC, 1, 3, "g43.1", "not json".getBytes(StandardCharsets.UTF_8)));
            consumer.addRecord(new ConsumerRecord<>(TOPIC, 1, 4, "g44", noReason));
        });
        Thread thread = new Thread(cancels, "job-cancels-test");
        thread.start();
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> cancels.cancelled("g44"));

            assertEquals(Set.of(C0, C1), consumer.assignment());
            assertTrue(consumer.subscription().isEmpty(), "assigned, not subscribed: no consumer group");
            assertTrue(cancels.cancelled("g42"));
            assertFalse(cancels.cancelled("g43.1"), "an unreadable cancel is ignored");
            assertFalse(cancels.cancelled("g45"));
            assertEquals(5L, consumer.position(C1), "read from the end: what came before this worker started is skipped");
        } finally {
            cancels.stop();
            thread.join(10_000);
        }
        assertFalse(thread.isAlive());
        assertTrue(consumer.closed());
    }

    @Test
    void aCancelIsForgottenWhenItsJobIsAnsweredWhenItExpiresAndWhenTheMemoryIsFull() {
        JobCancels cancels = cancels(new MockConsumer<>("latest"), 3);
        cancels.remember("answered");
        cancels.forget("answered");
        assertFalse(cancels.cancelled("answered"));
        assertTrue(cancels.none());

        cancels.remember("old");
        now.addAndGet(Duration.ofMinutes(10).toMillis());
        assertFalse(cancels.cancelled("old"), "past the request deadline the request has ended anyway");

        cancels.remember("a");
        now.incrementAndGet();
        cancels.remember("b");
        now.incrementAndGet();
        cancels.remember("c"); // the expired one makes room
        assertEquals(3, cancels.remembered());
        now.incrementAndGet();
        cancels.remember("d"); // full of live cancels: the one expiring soonest goes
        assertEquals(3, cancels.remembered());
        assertFalse(cancels.cancelled("a"));
        assertTrue(cancels.cancelled("b") && cancels.cancelled("c") && cancels.cancelled("d"));
    }
}
