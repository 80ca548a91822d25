package io.steergate.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The embedded broker's SCRAM-SHA-512 principals and their passwords under {@code <data-dir>/credentials} (random,
 * created once, mode 0600): {@code admin} (the broker's super user, also inter-broker), {@code steergate} (the
 * application) and {@code client} (the platform of the shared mode, trusted for the tenant field). Beside them two
 * settings files for Kafka's own tools and clients, rewritten on every start since the port can change:
 * {@code kafka-client.properties} and {@code kafka-admin.properties}.
 *
 * <p>The launcher only creates the admin's credential (when the broker's storage is formatted); the application's
 * {@code steer kafka setup} creates the other two users and their ACLs.
 */
final class KafkaCredentials {

    static final String ADMIN = "admin";
    static final String APP = "steergate";
    static final String CLIENT = "client";
    static final String PROTOCOL = "SASL_PLAINTEXT";
    static final String MECHANISM = "SCRAM-SHA-512";
    static final String CLIENT_SETTINGS = "kafka-client.properties";
    static final String ADMIN_SETTINGS = "kafka-admin.properties";
    /** The passwords go into JAAS and StorageTool's --add-scram text unquoted: nothing that either parser reads. */
    private static final String SAFE_PASSWORD = "[A-Za-z0-9._~-]+";

    private final Path dir;
    private final Map<String, String> passwords = new LinkedHashMap<>();

    private KafkaCredentials(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    /** The three principals' passwords, read from {@code dir} or created there. */
    static KafkaCredentials in(Path dir) throws IOException {
        KafkaCredentials credentials = new KafkaCredentials(dir);
        for (String user : new String[] {ADMIN, APP, CLIENT}) {
            Path file = credentials.passwordFile(user);
            String password = Secrets.passwordOf(file);
            if (!password.matches(SAFE_PASSWORD)) {
                throw new IllegalStateException(file + " holds characters other than letters, digits and ._~-"
                        + " (it goes unquoted into SASL settings): put another password there or delete the file");
            }
            credentials.passwords.put(user, password);
        }
        return credentials;
    }

    /**
     * Why the broker's storage in {@code logDir} cannot be used with the credentials in {@code credentialsDir}, if it
     * cannot: it was formatted (meta.properties) without the admin credential whose password is on file. Kafka adds
     * SCRAM credentials only when it formats, and the broker accepts nobody without one.
     */
    static Optional<String> refusal(Path logDir, Path credentialsDir, Path dataDir) {
        Path adminPassword = credentialsDir.resolve(passwordFileName(ADMIN));
        if (!Files.exists(logDir.resolve("meta.properties")) || Files.isRegularFile(adminPassword)) {
            return Optional.empty();
        }
        Path kafkaDir = dataDir.resolve("kafka").toAbsolutePath().normalize();
        return Optional.of("Kafka's storage in " + kafkaDir + " was formatted without an admin credential: by a launcher"
                + " from before Kafka authentication, or " + adminPassword.toAbsolutePath().normalize() + " was removed"
                + " since. The broker now accepts only SCRAM-SHA-512 clients, and Kafka adds the admin's credential only"
                + " when it formats its storage, so this directory cannot be used any more. Remove " + kafkaDir
                + " (`rm -r " + kafkaDir + "`) and start again: the launcher formats it anew with the credential and creates"
                + " the topics, empty; PostgreSQL's data stays. What is lost is what only Kafka held: requests on"
                + " steer.requests the gateway had not read yet (send them again; the same id is answered once), results"
                + " on steer.results no client had read (they stay in PostgreSQL: GET /v1/generations/{id}, or send the"
                + " same id again), and jobs on the job topics (steer.jobs.<model>) not yet generated (their requests end FAILED TIMED_OUT at the"
                + " request deadline). Outbox rows not yet published are in PostgreSQL and go to the new topics. To"
                + " lose nothing, stop the old launcher when no request is in flight.");
    }

    static String passwordFileName(String user) {
        return "kafka-" + user + ".password";
    }

    Path passwordFile(String user) {
        return dir.resolve(passwordFileName(user));
    }

    Path clientSettingsFile() {
        return dir.resolve(CLIENT_SETTINGS);
    }

    Path adminSettingsFile() {
        return dir.resolve(ADMIN_SETTINGS);
    }

    String password(String user) {
        return passwords.get(user);
    }

    /** The JAAS line a Kafka client logs in with as {@code user}. */
    String jaasConfig(String user) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password(user) + "\";";
    }

    /**
     * The controller listener's PLAIN login: the admin logs in (the broker half of the node) and is its only user; the
     * password is checked against this line, not the metadata log.
     */
    String controllerJaasConfig() {
        return "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + ADMIN + "\" password=\""
                + password(ADMIN) + "\" user_" + ADMIN + "=\"" + password(ADMIN) + "\";";
    }

    /** StorageTool's --add-scram value: the admin's credential, written into the metadata log when it formats. */
    String adminScramCredential() {
        return MECHANISM + "=[name=" + ADMIN + ",password=" + password(ADMIN) + "]";
    }

    /** The security settings of a client logging in as {@code user}. */
    Map<String, Object> clientSettings(String user) {
        return Map.of("security.protocol", PROTOCOL, "sasl.mechanism", MECHANISM, "sasl.jaas.config", jaasConfig(user));
    }

    /** What the application's Kafka clients read as {@code kafka.*} (its KafkaClientSettings). */
    Map<String, String> appEnvironment() {
        return Map.of("KAFKA_SECURITY_PROTOCOL", PROTOCOL, "KAFKA_SASL_MECHANISM", MECHANISM,
                "KAFKA_SASL_JAAS_CONFIG", jaasConfig(APP));
    }

    /** (Re)writes kafka-client.properties and kafka-admin.properties for {@code bootstrapServers}. */
    void writeSettings(String bootstrapServers) throws IOException {
        Secrets.writePrivate(clientSettingsFile(), settingsText(CLIENT, bootstrapServers,
                "the shared mode's platform principal \"client\": kafka-console-producer --producer.config,"
                        + " kafka-console-consumer --consumer.config, deploy/client"));
        Secrets.writePrivate(adminSettingsFile(), settingsText(ADMIN, bootstrapServers,
                "the broker's super user \"admin\": kafka-topics/kafka-acls/kafka-configs --command-config,"
                        + " steer kafka setup --admin-config"));
    }

    private String settingsText(String user, String bootstrapServers, String useFor) {
        // by hand, not Properties.store: that would escape the JAAS line's '=' and '"' and date-stamp the file
        return "# written by the SteerGate launcher on every start; " + useFor + "\n"
                + "bootstrap.servers=" + bootstrapServers + "\n"
                + "security.protocol=" + PROTOCOL + "\n"
                + "sasl.mechanism=" + MECHANISM + "\n"
                + "sasl.jaas.config=" + jaasConfig(user) + "\n";
    }
}
