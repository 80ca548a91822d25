package io.steergate.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.steergate.kafka.KafkaClientSettings;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** The relay's producer takes the shared kafka.* settings (security included) and keeps its own delivery settings. */
class OutboxRelayKafkaSettingsTest {

    @Test
    void securitySettingsReachTheRelayProducerAndItsOwnSettingsWin() {
        KafkaClientSettings kafka = new KafkaClientSettings(Map.of(
                "bootstrap.servers", "broker:9093",
                "security.protocol", "SASL_PLAINTEXT",
                "sasl.mechanism", "SCRAM-SHA-512",
                "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"a\" password=\"b\";",
                "acks", "1",
                "client.id", "steergate",
                "group.id", "steergate"));

        Properties props = OutboxRelay.producerProperties(kafka);

        assertEquals("broker:9093", props.get("bootstrap.servers"));
        assertEquals("SASL_PLAINTEXT", props.get("security.protocol"));
        assertEquals("SCRAM-SHA-512", props.get("sasl.mechanism"));
        assertEquals("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"a\" password=\"b\";",
                props.get("sasl.jaas.config"));
        assertEquals("all", props.get("acks"));
        assertEquals(true, props.get("enable.idempotence"));
        assertEquals(0, props.get("linger.ms")); // a lone record is not held back for others
        assertEquals("steergate-outbox-relay", props.get("client.id"));
        assertFalse(props.containsKey("group.id"));
    }
}
