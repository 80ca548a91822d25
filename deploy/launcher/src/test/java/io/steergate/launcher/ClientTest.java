package io.steergate.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** deploy/client logs in with the settings the launcher wrote under its data directory, unless told otherwise. */
class ClientTest {

    @TempDir
    Path dataDir;

    @Test
    void usesTheLaunchersClientSettingsAndLetsBootstrapWin() throws Exception {
        KafkaCredentials credentials = KafkaCredentials.in(dataDir.resolve("credentials"));
        credentials.writeSettings("127.0.0.1:19092");

        Map<String, Object> settings = Client.kafkaSettings(null, dataDir, null);
        assertEquals("127.0.0.1:19092", settings.get("bootstrap.servers"));
        assertEquals("SASL_PLAINTEXT", settings.get("security.protocol"));
        assertEquals("SCRAM-SHA-512", settings.get("sasl.mechanism"));
        assertEquals(credentials.jaasConfig(KafkaCredentials.CLIENT), settings.get("sasl.jaas.config"));

        assertEquals("10.0.0.1:9092", Client.kafkaSettings(null, dataDir, "10.0.0.1:9092").get("bootstrap.servers"));
        assertEquals(credentials.jaasConfig(KafkaCredentials.ADMIN),
                Client.kafkaSettings(credentials.adminSettingsFile(), Path.of("elsewhere"), null).get("sasl.jaas.config"));
    }

    @Test
    void withoutTheLaunchersFileItConnectsWithoutALoginButANamedFileMustExist() throws Exception {
        Map<String, Object> settings = Client.kafkaSettings(null, dataDir, null);
        assertEquals("127.0.0.1:9092", settings.get("bootstrap.servers"));
        assertFalse(settings.containsKey("security.protocol"));
        assertNull(Client.kafkaSettings(dataDir.resolve("missing.properties"), dataDir, null));
    }
}
