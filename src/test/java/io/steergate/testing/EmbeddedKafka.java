package io.steergate.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Provider;
import java.security.Security;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.security.plain.internals.PlainSaslServerProvider;
import org.apache.kafka.common.security.scram.internals.ScramSaslClientProvider;
import org.apache.kafka.common.security.scram.internals.ScramSaslServerProvider;
import org.apache.kafka.common.security.auth.SecurityProtocol;
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

    /** The SASL mechanism of {@link #withAcls()} brokers: the one docs/architecture.md 4.6 names for a secured deployment. */
    public static final String SCRAM_MECHANISM = "SCRAM-SHA-512";

    /** The test kit's broker super-user on a SASL listener (JaasUtils.KAFKA_PLAIN_ADMIN), used here to administer. */
    private static final String KIT_ADMIN = "plain-admin";
    private static final String KIT_ADMIN_PASSWORD = "plain-admin-secret";
    /** The broker's side of PLAIN: the kit admin's login (the broker's own, between its nodes) and the users it accepts. */
    private static final String KIT_PLAIN_JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
            + KIT_ADMIN + "\" password=\"" + KIT_ADMIN_PASSWORD + "\" user_" + KIT_ADMIN + "=\"" + KIT_ADMIN_PASSWORD + "\";";

    private final int defaultPartitions;
    /** SASL (SCRAM-SHA-512 for clients, PLAIN for the kit's admin) with ACLs. */
    private final boolean secured;
    private KafkaClusterTestKit cluster;

    public EmbeddedKafka() {
        this(4);
    }

    public EmbeddedKafka(int defaultPartitions) {
        this(defaultPartitions, false);
    }

    private EmbeddedKafka(int defaultPartitions, boolean secured) {
        this.defaultPartitions = defaultPartitions;
        this.secured = secured;
    }

    /**
     * A broker as a secured deployment runs one: its client listener is SASL_PLAINTEXT and accepts SCRAM-SHA-512
     * users (made with io.steergate.kafka.KafkaProvisioning through {@link #adminSettings()}), clients without valid
     * credentials are refused, and a user may do only what an ACL allows (none granted yet). The kit's admin and the
     * broker itself are super users. Topics are not created on first use: each must be created first.
     */
    public EmbeddedKafka withAcls() {
        return new EmbeddedKafka(defaultPartitions, true);
    }

    /** Formats and starts the broker; returns once it accepts clients (2-4 s). */
    public synchronized EmbeddedKafka start() {
        if (cluster != null) {
            return this;
        }
        try {
            if (secured) {
                useThisClassLoadersSaslProviders();
            }
            TestKitNodes.Builder nodeSettings = new TestKitNodes.Builder();
            if (secured) {
                nodeSettings.setBrokerSecurityProtocol(SecurityProtocol.SASL_PLAINTEXT);
                // on a PLAINTEXT controller listener the broker would be User:ANONYMOUS, whom the authorizer refuses
                nodeSettings.setControllerSecurityProtocol(SecurityProtocol.SASL_PLAINTEXT);
            }
            TestKitNodes nodes = nodeSettings
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    // without it the test kit formats with a testing-only metadata version
                    .setBootstrapMetadataVersion(MetadataVersion.latestProduction())
                    .build();
            KafkaClusterTestKit.Builder kitSettings = new KafkaClusterTestKit.Builder(nodes);
            if (secured) {
                String listener = nodes.brokerListenerName().value().toLowerCase(Locale.ROOT);
                // the kit's own SASL setup speaks PLAIN (its admin and the broker itself); clients get SCRAM too
                kitSettings.setConfigProp("sasl.enabled.mechanisms", "PLAIN," + SCRAM_MECHANISM)
                        .setConfigProp("listener.name." + listener + "." + SCRAM_MECHANISM.toLowerCase(Locale.ROOT) + ".sasl.jaas.config",
                                "org.apache.kafka.common.security.scram.ScramLoginModule required;");
                // PLAIN's users in each listener's own settings, not only in the kit's JVM-wide JAAS file, which the
                // next SASL broker of this JVM replaces
                for (String name : List.of(listener, nodes.controllerListenerName().value().toLowerCase(Locale.ROOT))) {
                    kitSettings.setConfigProp("listener.name." + name + ".plain.sasl.jaas.config", KIT_PLAIN_JAAS);
                }
            }
            KafkaClusterTestKit kit = kitSettings
                    // the default 3 s delay would be paid by every new consumer group
                    .setConfigProp("group.initial.rebalance.delay.ms", "0")
                    // a secured broker is the production one (k8s/base/kafka: topics come from provisioning only):
                    // a record for a topic that does not exist then waits for metadata, where auto-creation hides it
                    .setConfigProp("auto.create.topics.enable", String.valueOf(!secured))
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

    /**
     * Settings of a client of the broker as the kit's super user (SASL PLAIN on a {@link #withAcls()} broker): what an operator's admin config holds.
     */
    public Map<String, Object> adminSettings() {
        Map<String, Object> settings = new HashMap<>(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()));
        if (secured) {
            settings.put(AdminClientConfig.SECURITY_PROTOCOL_CONFIG, SecurityProtocol.SASL_PLAINTEXT.name);
            settings.put(SaslConfigs.SASL_MECHANISM, "PLAIN");
            settings.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
                    + KIT_ADMIN + "\" password=\"" + KIT_ADMIN_PASSWORD + "\";");
        }
        return settings;
    }

    /** Writes {@link #adminSettings()} as a Kafka client .properties file (steer kafka --admin-config) and returns it. */
    public Path writeAdminConfig(Path file) {
        Properties config = new Properties();
        adminSettings().forEach((name, value) -> config.setProperty(name, value.toString()));
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            config.store(out, "the embedded broker's super user");
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + file, e);
        }
        return file;
    }

    /** The client settings of a SCRAM user of a {@link #withAcls()} broker: what the application is given as kafka.*. */
    public Map<String, Object> scramClientSettings(String user, String password) {
        return Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.SECURITY_PROTOCOL_CONFIG, SecurityProtocol.SASL_PLAINTEXT.name,
                SaslConfigs.SASL_MECHANISM, SCRAM_MECHANISM,
                SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                        + user + "\" password=\"" + password + "\";");
    }

    /** Creates the topics with the given partition count; topics that already exist are left alone. */
    public void createTopics(int partitions, String... topics) {
        try (Admin admin = Admin.create(adminSettings())) {
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

    /**
     * Kafka installs its SASL mechanisms as JVM-wide security providers, once per class loader, and only when none of
     * the same name is installed. After a SASL broker in a @QuarkusTest's class loader, a broker of this class loader
     * (or the other way round) would get that loader's SASL servers, whose callbacks its handlers do not recognize
     * (UnsupportedCallbackException: no client authenticates). So the providers of this class loader go first.
     */
    private static void useThisClassLoadersSaslProviders() {
        List<Class<? extends Provider>> ours = List.of(PlainSaslServerProvider.class, ScramSaslServerProvider.class, ScramSaslClientProvider.class);
        for (Provider installed : Security.getProviders()) {
            boolean foreign = ours.stream().anyMatch(c -> c.getName().equals(installed.getClass().getName()) && c != installed.getClass());
            if (foreign) {
                Security.removeProvider(installed.getName());
            }
        }
        PlainSaslServerProvider.initialize();
        ScramSaslServerProvider.initialize();
        ScramSaslClientProvider.initialize();
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
