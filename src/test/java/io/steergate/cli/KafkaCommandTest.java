package io.steergate.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.kafka.KafkaProvisioning;
import io.steergate.kafka.TenantTopics;
import io.steergate.testing.EmbeddedKafka;
import io.steergate.testing.TestModel;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code steer kafka setup} and {@code add-tenant} against a real broker that authorizes with ACLs. */
class KafkaCommandTest {

    static EmbeddedKafka kafka;
    static Path adminConfig;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        kafka = new EmbeddedKafka(1).withAcls().start();
        kafka.createTopics(1, "steer.requests", "steer.results", "steer.requests.dlq", TestModel.JOBS_TOPIC, "steer.job-results");
        adminConfig = kafka.writeAdminConfig(dir.resolve("admin.properties"));
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    record Run(int code, String out, String err) {}

    static Run steer(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cli = SteerCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void addTenantCreatesTheTopicsAPrivatePasswordFileAndAWorkingPrincipal() throws Exception {
        Path passwordFile = dir.resolve("credentials/kafka/acme.password");
        Run run = steer("kafka", "add-tenant", "acme", "--admin-config", adminConfig.toString(), "--password-file", passwordFile.toString());
        assertEquals(0, run.code(), run.err());
        String password = Files.readString(passwordFile).strip();
        assertTrue(password.matches("[A-Za-z0-9_-]{43}"), "32 random bytes, base64url");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(passwordFile)));
        assertTrue(run.out().contains("User:tenant-acme (SCRAM-SHA-512)") && run.out().contains("steer.requests.acme")
                && run.out().contains("steer.results.acme") && run.out().contains(passwordFile.toString()), run.out());
        assertFalse(run.out().contains(password) || run.err().contains(password), "the password is never printed");
        try (Admin admin = Admin.create(kafka.adminSettings())) {
            assertTrue(admin.listTopics().names().get(30, TimeUnit.SECONDS).containsAll(TenantTopics.of("acme")));
        }
        write(kafka.scramClientSettings("tenant-acme", password), "steer.requests.acme");

        Run again = steer("kafka", "add-tenant", "acme", "--admin-config", adminConfig.toString(), "--password-file", passwordFile.toString());
        assertEquals(0, again.code(), again.err());
        assertEquals(password, Files.readString(passwordFile).strip(), "an existing password file is kept");
        write(kafka.scramClientSettings("tenant-acme", password), "steer.requests.acme");
    }

    @Test
    void aBadTenantIsABadArgumentInOneLine() {
        for (String tenant : List.of("kids.co", "Acme", "a\nb", "")) {
            Run run = steer("kafka", "add-tenant", tenant, "--admin-config", adminConfig.toString(),
                    "--password-file", dir.resolve("bad.password").toString());
            assertEquals(2, run.code(), tenant + ": " + run.err());
            assertEquals(1, run.err().strip().lines().count(), run.err());
            assertTrue(run.err().contains("tenant"), run.err());
        }
        assertFalse(Files.exists(dir.resolve("bad.password")), "nothing written for a bad tenant");
    }

    @Test
    void setupTwiceCreatesTheApplicationAndSharedClientUsersWithTheirRights() throws Exception {
        Path appPassword = Files.writeString(dir.resolve("app.password"), "app-secret-1\n");
        Path clientPassword = Files.writeString(dir.resolve("client.password"), "  client-secret-1 \n");
        String[] args = {"kafka", "setup", "--admin-config", adminConfig.toString(), "--app-user", "steergate",
            "--app-password-file", appPassword.toString(), "--client-user", "platform", "--client-password-file", clientPassword.toString()};
        for (int i = 0; i < 2; i++) {
            Run run = steer(args);
            assertEquals(0, run.code(), run.err());
            assertEquals(2, run.out().strip().lines().count(), run.out());
            assertTrue(run.out().contains("User:steergate ") && run.out().contains("User:platform "), run.out());
            assertFalse(run.out().contains("secret"), run.out());
        }
        write(kafka.scramClientSettings("steergate", "app-secret-1"), TestModel.JOBS_TOPIC);
        write(kafka.scramClientSettings("platform", "client-secret-1"), "steer.requests");
    }

    @Test
    void setupRefusesIncompleteArgumentsAndSaysWhenTheAdminLacksRights() throws Exception {
        Path appPassword = Files.writeString(dir.resolve("app2.password"), "app-secret-2");
        Run missing = steer("kafka", "setup", "--admin-config", adminConfig.toString(), "--app-user", "steergate2",
                "--app-password-file", appPassword.toString(), "--client-user", "platform2");
        assertEquals(2, missing.code(), missing.err());
        Run tenantName = steer("kafka", "setup", "--admin-config", adminConfig.toString(), "--app-user", "tenant-acme",
                "--app-password-file", appPassword.toString());
        assertEquals(2, tenantName.code(), tenantName.err());

        Path unknownProtocol = Files.writeString(dir.resolve("bogus.properties"), "bootstrap.servers=" + kafka.bootstrapServers()
                + "\nsecurity.protocol=SASL_BOGUS\n");
        Run bogus = steer("kafka", "setup", "--admin-config", unknownProtocol.toString(), "--app-user", "steergate2",
                "--app-password-file", appPassword.toString());
        assertEquals(1, bogus.code(), bogus.err());
        assertTrue(bogus.err().contains("SASL_BOGUS"), bogus.err());

        Properties adminSettings = new Properties();
        adminSettings.putAll(kafka.adminSettings());
        try (KafkaProvisioning admin = KafkaProvisioning.connect(adminSettings)) {
            admin.upsertScramUser("nobody", "nobody-secret");
        }
        Map<String, Object> nobody = kafka.scramClientSettings("nobody", "nobody-secret");
        Path notAdmin = dir.resolve("not-admin.properties");
        StringBuilder config = new StringBuilder();
        nobody.forEach((name, value) -> config.append(name).append('=').append(value.toString().replace("\\", "\\\\")).append('\n'));
        Files.writeString(notAdmin, config);
        Run refused = steer("kafka", "setup", "--admin-config", notAdmin.toString(), "--app-user", "steergate2",
                "--app-password-file", appPassword.toString());
        assertEquals(1, refused.code(), refused.err());
        assertEquals(1, refused.err().strip().lines().count(), refused.err());
        assertTrue(refused.err().contains("lacks the rights"), refused.err());
        assertFalse(refused.err().contains("app-secret-2") || refused.err().contains("nobody-secret"), refused.err());
    }

    static void write(Map<String, Object> settings, String topic) throws Exception {
        Map<String, Object> props = new HashMap<>(settings);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "20000");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
            producer.send(new ProducerRecord<>(topic, "k", "{}")).get(30, TimeUnit.SECONDS);
        }
    }
}
