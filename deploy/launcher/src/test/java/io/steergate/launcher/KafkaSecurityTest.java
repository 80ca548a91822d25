package io.steergate.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded broker as the launcher starts it (in this JVM, on free ports): only SCRAM-SHA-512 clients with a
 * known password get in, and with the application's {@code steer kafka setup} run the way the launcher runs it, the
 * shared-mode client may write requests but not an internal topic.
 */
class KafkaSecurityTest {

    /** The packaged application, as the root build leaves it before it runs these tests. */
    private static final Path APP_JAR = Path.of("../../target/quarkus-app/quarkus-run.jar");

    @TempDir
    static Path dataDir;

    private static EmbeddedStack.KafkaBroker broker;
    private static KafkaCredentials credentials;

    @BeforeAll
    static void startBroker() throws Exception {
        credentials = KafkaCredentials.in(dataDir.resolve("credentials"));
        broker = EmbeddedStack.KafkaBroker.start(dataDir.resolve("kafka"), PostgresTest.freePort(), PostgresTest.freePort(),
                1, dataDir.resolve("storage-format.log"), credentials);
        broker.createTopics(EmbeddedStack.TOPICS, 1);
        credentials.writeSettings(broker.bootstrapServers());
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void aClientWithoutCredentialsGetsNothing() {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers(),
                "request.timeout.ms", "3000", "default.api.timeout.ms", "6000"))) {
            // a PLAINTEXT client on a SASL listener: the broker closes the connection, the client never gets an answer
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> admin.listTopics().names().get(20, TimeUnit.SECONDS));
            assertInstanceOf(org.apache.kafka.common.errors.TimeoutException.class, e.getCause(), e.toString());
        }
    }

    @Test
    void aWrongPasswordIsRefused() {
        Map<String, Object> settings = new HashMap<>(Map.of("bootstrap.servers", broker.bootstrapServers(),
                "request.timeout.ms", "3000", "default.api.timeout.ms", "6000",
                "security.protocol", KafkaCredentials.PROTOCOL, "sasl.mechanism", KafkaCredentials.MECHANISM,
                "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                        + KafkaCredentials.ADMIN + "\" password=\"not-" + credentials.password(KafkaCredentials.ADMIN) + "\";"));
        try (Admin admin = Admin.create(settings)) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> admin.listTopics().names().get(20, TimeUnit.SECONDS));
            assertInstanceOf(SaslAuthenticationException.class, e.getCause(), e.toString());
        }
    }

    @Test
    void theAdminSettingsFileLogsInAsTheSuperUser() throws Exception {
        try (Admin admin = Admin.create(load(credentials.adminSettingsFile()))) {
            assertTrue(admin.listTopics().names().get(20, TimeUnit.SECONDS).containsAll(EmbeddedStack.TOPICS));
        }
    }

    @Test
    void theSharedClientWritesRequestsButNoInternalTopic() throws Exception {
        assumeTrue(Files.isRegularFile(APP_JAR), "needs the packaged application (" + APP_JAR + "): ./mvnw -B package -DskipTests");
        KafkaAccess.setUp(APP_JAR, credentials);
        KafkaAccess.setUp(APP_JAR, credentials); // idempotent: the launcher runs it at every start

        Properties settings = load(credentials.clientSettingsFile());
        settings.put("max.block.ms", "10000");
        settings.put("delivery.timeout.ms", "15000");
        settings.put("request.timeout.ms", "5000");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(settings, new StringSerializer(), new StringSerializer())) {
            producer.send(new ProducerRecord<>("steer.requests", "r-1", "{}")).get(20, TimeUnit.SECONDS);
            ExecutionException refused = assertThrows(ExecutionException.class,
                    () -> producer.send(new ProducerRecord<>("steer.jobs.stories260K", "g1", "{}")).get(20, TimeUnit.SECONDS));
            assertInstanceOf(TopicAuthorizationException.class, refused.getCause(), refused.toString());
        }
        // and the client's password is the one the launcher keeps: the file, not a copy the command made up
        assertFalse(credentials.password(KafkaCredentials.CLIENT).isBlank());
        assertEquals(credentials.password(KafkaCredentials.CLIENT),
                Secrets.readPassword(credentials.passwordFile(KafkaCredentials.CLIENT)));
    }

    private static Properties load(Path file) throws Exception {
        Properties properties = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(in);
        }
        return properties;
    }
}
