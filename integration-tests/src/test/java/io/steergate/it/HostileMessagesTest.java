package io.steergate.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import io.steergate.it.HostileMessages.Expect;
import io.steergate.it.HostileMessages.Message;

/** The hostile generator without an application: what it promises HostileInputIT holds for every message. */
class HostileMessagesTest {

    private static final int COUNT = 6_000;

    @Test
    void everyMessageMeansWhatItSaysAndCountsExactly() {
        List<Message> messages = new HostileMessages(1234, "t").next(COUNT);

        Set<String> keys = new HashSet<>();
        Set<String> ids = new HashSet<>();
        Map<Expect, Integer> outcomes = new TreeMap<>();
        for (Message message : messages) {
            assertTrue(message.consistent(), () -> "the id contract reads it otherwise: " + message);
            assertTrue(message.value() == null || message.value().length <= HostileMessages.MAX_MESSAGE_BYTES, message::toString);
            assertTrue(keys.add(message.key()), () -> "key repeated: " + message);
            if (message.readable()) {
                assertTrue(ids.add(message.readableId()), () -> "readable id repeated: " + message);
            }
            outcomes.merge(message.outcome(), 1, Integer::sum);
        }
        // enough of each outcome that a run tests both doors of the decoder
        for (Expect outcome : List.of(Expect.DEAD_LETTER, Expect.REJECTED, Expect.DECODED, Expect.ANSWERED)) {
            assertTrue(outcomes.getOrDefault(outcome, 0) >= 100, () -> outcome + " too rare: " + outcomes);
        }
    }

    @Test
    void everyKindOfHostilityIsDrawn() {
        Set<String> kinds = new HashSet<>();
        new HostileMessages(99, "k").next(COUNT).forEach(m -> kinds.add(m.kind().replaceAll("[-=].*", "")));
        assertEquals(Set.of("random", "null", "empty", "not", "invalid", "deep", "wide", "number", "control", "unicode",
                "limit", "duplicate", "wrong", "trailing", "mutation"), kinds);
    }

    @Test
    void theSameSeedGivesTheSameMessages() {
        List<Message> first = new HostileMessages(7, "s").next(2_000);
        List<Message> second = new HostileMessages(7, "s").next(2_000);
        for (int i = 0; i < first.size(); i++) {
            assertEquals(first.get(i).key(), second.get(i).key());
            assertArrayEquals(first.get(i).value(), second.get(i).value(), first.get(i)::toString);
        }
    }

    @Test
    void theIdContractReadsOnlyAValidIdInAStrictObject() {
        assertEquals("a-1", HostileMessages.readableId(utf8("{\"id\":\"a-1\",\"x\":[1]}")));
        assertEquals("a-1", HostileMessages.readableId(bytes("{\"id\":\"a-1\",\"p\":\"", new byte[] {(byte) 0xFF}, "\"}")));
        assertNull(HostileMessages.readableId(null));
        assertNull(HostileMessages.readableId(utf8("")));
        assertNull(HostileMessages.readableId(utf8("[{\"id\":\"a-1\"}]")));
        assertNull(HostileMessages.readableId(utf8("{\"id\":\"a-1\",\"id\":\"a-2\"}")));
        assertNull(HostileMessages.readableId(utf8("{\"id\":\"a-1\"} x")));
        assertNull(HostileMessages.readableId(utf8("{\"id\":\"a 1\"}")));
        assertNull(HostileMessages.readableId(utf8("{\"id\":\"" + "a".repeat(129) + "\"}")));
        assertNull(HostileMessages.readableId(utf8("{\"id\":\"a-1\",\"n\":" + "[".repeat(1500) + "]".repeat(1500) + "}")));
    }

    @Test
    void aKeyForAPartitionLandsThere() {
        for (int partition = 0; partition < 4; partition++) {
            String key = PartitionKeys.keyFor("sentinel", partition, 4);
            assertEquals(partition, PartitionKeys.partitionOf(key, 4), key);
        }
        // Kafka's own murmur2 test vector: "21" hashes to -973932308
        assertEquals(-973932308, org.apache.kafka.common.utils.Utils.murmur2(utf8("21")));
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] bytes(String before, byte[] middle, String after) {
        byte[] a = utf8(before);
        byte[] c = utf8(after);
        byte[] out = new byte[a.length + middle.length + c.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(middle, 0, out, a.length, middle.length);
        System.arraycopy(c, 0, out, a.length + middle.length, c.length);
        return out;
    }
}
