package io.steergate.it;

import java.nio.charset.StandardCharsets;

import org.apache.kafka.common.utils.Utils;

/** Record keys that land on a chosen partition under Kafka's default partitioner (murmur2 of the key bytes). */
final class PartitionKeys {

    private PartitionKeys() {
    }

    /** The partition the default partitioner gives {@code key} on a topic of {@code partitions} partitions. */
    static int partitionOf(String key, int partitions) {
        return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitions;
    }

    /** The first of {@code base}-0, {@code base}-1, ... that lands on {@code partition}. */
    static String keyFor(String base, int partition, int partitions) {
        for (int n = 0; ; n++) {
            String key = base + "-" + n;
            if (partitionOf(key, partitions) == partition) {
                return key;
            }
        }
    }
}
