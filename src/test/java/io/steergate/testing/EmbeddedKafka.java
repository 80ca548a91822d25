package io.steergate.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A real single-node KRaft broker (combined broker + controller) in the test JVM, on ephemeral ports.
 * Shared by the @QuarkusTests (through {@link KafkaAndPostgresResource}) and the integration tests.
 */
public final class EmbeddedKafka implements AutoCloseable {

    /**
     * Kafka's bytes around a record's value that count against message.max.bytes: the record batch header (61), the
     * record's own varints and attributes (at most 26), its key (a request id, at most 128 ASCII characters) and headers.
     * Kept equal to deploy/launcher's EmbeddedStack.RECORD_OVERHEAD_BYTES, which explains the number.
     */
    static final int RECORD_OVERHEAD_BYTES = 16 * 1024;

    /**
     * The broker's message.max.bytes, the same as the embedded default's (deploy/run): the largest request the
     * gateway promises to answer, steergate.limits.message-bytes of application.properties, plus the record overhead.
     * Tests never get a roomier broker than a user does.
     */
    public static final int MESSAGE_MAX_BYTES = configuredMessageBytes() + RECORD_OVERHEAD_BYTES;

    private final int defaultPartitions;
    private KafkaClusterTestKit cluster;

    public EmbeddedKafka() {
        this(4);
    }

    public EmbeddedKafka(int defaultPartitions) {
        this.defaultPartitions = defaultPartitions;
    }

    /** Formats and starts the broker; returns once it accepts clients (2-4 s). */
    public synchronized EmbeddedKafka start() {
        if (cluster != null) {
            return this;
        }
        try {
            TestKitNodes nodes = new TestKitNodes.Builder()
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    // without it the test kit formats with a testing-only metadata version
                    .setBootstrapMetadataVersion(MetadataVersion.latestProduction())
                    .build();
            KafkaClusterTestKit kit = new KafkaClusterTestKit.Builder(nodes)
                    // the default 3 s delay would be paid by every new consumer group
                    .setConfigProp("group.initial.rebalance.delay.ms", "0")
                    .setConfigProp("auto.create.topics.enable", "true")
                    .setConfigProp("num.partitions", String.valueOf(defaultPartitions))
                    .setConfigProp("message.max.bytes", String.valueOf(MESSAGE_MAX_BYTES))
                    .setConfigProp("offsets.topic.replication.factor", "1")
                    .setConfigProp("offsets.topic.num.partitions", "4")
                    .setConfigProp("transaction.state.log.replication.factor", "1")
                    .setConfigProp("transaction.state.log.min.isr", "1")
                    .setConfigProp("share.coordinator.state.topic.replication.factor", "1")
                    .setConfigProp("share.coordinator.state.topic.min.isr", "1")
                    .build();
            kit.format();
            kit.startup();
            kit.waitForReadyBrokers();
            cluster = kit;
            return this;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the embedded Kafka broker", e);
        } catch (Exception e) {
            throw new IllegalStateException("could not start the embedded Kafka broker", e);
        }
    }

    public synchronized String bootstrapServers() {
        if (cluster == null) {
            throw new IllegalStateException("the embedded Kafka broker is not started");
        }
        return cluster.bootstrapServers();
    }

    /** Creates the topics with the given partition count; topics that already exist are left alone. */
    public void createTopics(int partitions, String... topics) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()))) {
            Set<NewTopic> newTopics = Arrays.stream(topics)
                    .map(name -> new NewTopic(name, partitions, (short) 1))
                    .collect(Collectors.toSet());
            for (var future : admin.createTopics(newTopics).values().values()) {
                try {
                    future.get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("could not create topics " + Arrays.toString(topics), e.getCause());
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        }
    }

    private static int configuredMessageBytes() {
        Properties config = new Properties();
        try (InputStream in = EmbeddedKafka.class.getClassLoader().getResourceAsStream("application.properties")) {
            if (in == null) {
                throw new IllegalStateException("application.properties is not on the class path");
            }
            config.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read application.properties", e);
        }
        return Integer.parseInt(config.getProperty("steergate.limits.message-bytes").trim());
    }

    @Override
    public synchronized void close() {
        if (cluster == null) {
            return;
        }
        try {
            cluster.close();
        } catch (Exception e) {
            throw new IllegalStateException("could not stop the embedded Kafka broker", e);
        } finally {
            cluster = null;
        }
    }
}
