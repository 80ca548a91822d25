package io.steergate.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.TopicExistsException;
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

    /** The SASL mechanism of {@link #withScram()} brokers: the one DESIGN.md asks of a secured deployment. */
    public static final String SCRAM_MECHANISM = "SCRAM-SHA-512";

    /** The test kit's broker super-user on a SASL listener (JaasUtils.KAFKA_PLAIN_ADMIN), used here to administer. */
    private static final String KIT_ADMIN = "plain-admin";
    private static final String KIT_ADMIN_PASSWORD = "plain-admin-secret";

    private final int defaultPartitions;
    private final boolean scram;
    private final boolean acls;
    private KafkaClusterTestKit cluster;

    public EmbeddedKafka() {
        this(4);
    }

    public EmbeddedKafka(int defaultPartitions) {
        this(defaultPartitions, false, false);
    }

    private EmbeddedKafka(int defaultPartitions, boolean scram, boolean acls) {
        this.defaultPartitions = defaultPartitions;
        this.scram = scram;
        this.acls = acls;
    }

    /**
     * A broker whose client listener is SASL_PLAINTEXT and accepts SCRAM-SHA-512 users made with
     * {@link #createScramUser}; clients without valid credentials are refused. Authorization stays open: every
     * authenticated user may do anything (see {@link #withAcls()}).
     */
    public EmbeddedKafka withScram() {
        return new EmbeddedKafka(defaultPartitions, true, false);
    }

    /**
     * Like {@link #withScram()}, but the broker authorizes: a user may do only what an ACL allows (none granted yet).
     * The kit's admin ({@link #adminSettings()}) and the broker itself are super users.
     */
    public EmbeddedKafka withAcls() {
        return new EmbeddedKafka(defaultPartitions, true, true);
    }

    /** Formats and starts the broker; returns once it accepts clients (2-4 s). */
    public synchronized EmbeddedKafka start() {
        if (cluster != null) {
            return this;
        }
        try {
            TestKitNodes.Builder nodeSettings = new TestKitNodes.Builder();
            if (scram) {
                nodeSettings.setBrokerSecurityProtocol(SecurityProtocol.SASL_PLAINTEXT);
            }
            if (acls) {
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
            if (scram) {
                String listener = nodes.brokerListenerName().value().toLowerCase(Locale.ROOT);
                // the kit's own SASL setup speaks PLAIN (its admin and the broker itself); clients get SCRAM too
                kitSettings.setConfigProp("sasl.enabled.mechanisms", "PLAIN," + SCRAM_MECHANISM)
                        .setConfigProp("listener.name." + listener + "." + SCRAM_MECHANISM.toLowerCase(Locale.ROOT) + ".sasl.jaas.config",
                                "org.apache.kafka.common.security.scram.ScramLoginModule required;");
                if (!acls) {
                    // the kit installs an authorizer that denies what no ACL allows, with its admin as super user
                    kitSettings.setConfigProp("allow.everyone.if.no.acl.found", "true");
                }
            }
            KafkaClusterTestKit kit = kitSettings
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

    /**
     * Settings of a client of the broker as the kit's super user (SASL PLAIN on a {@link #withScram()} or
     * {@link #withAcls()} broker): what an operator's admin config holds.
     */
    public Map<String, Object> adminSettings() {
        Map<String, Object> settings = new HashMap<>(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()));
        if (scram) {
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

    /** The client settings of a SCRAM user of a {@link #withScram()} broker: what the application is given as kafka.*. */
    public Map<String, Object> scramClientSettings(String user, String password) {
        return Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.SECURITY_PROTOCOL_CONFIG, SecurityProtocol.SASL_PLAINTEXT.name,
                SaslConfigs.SASL_MECHANISM, SCRAM_MECHANISM,
                SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                        + user + "\" password=\"" + password + "\";");
    }

    /**
     * Creates (or replaces) a SCRAM-SHA-512 user on a {@link #withScram()} broker and returns once the broker accepts
     * its logins: credentials reach the broker through the metadata log a moment after the controller stored them.
     */
    public void createScramUser(String user, String password) {
        if (!scram) {
            throw new IllegalStateException("the embedded Kafka broker was started without SCRAM");
        }
        try (Admin admin = Admin.create(adminSettings())) {
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), password))).all().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating the SCRAM user", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("could not create the SCRAM user " + user, e.getCause());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (Admin admin = Admin.create(scramClientSettings(user, password))) {
                admin.listTopics().names().get(10, TimeUnit.SECONDS);
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the SCRAM user", e);
            } catch (ExecutionException | TimeoutException e) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the broker did not accept the SCRAM user " + user, e);
                }
            }
        }
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
