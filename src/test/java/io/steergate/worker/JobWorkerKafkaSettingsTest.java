package io.steergate.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.steergate.kafka.KafkaClientSettings;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.junit.jupiter.api.Test;

/** The worker's consumer and producer take the shared kafka.* settings (security included) and keep their own. */
class JobWorkerKafkaSettingsTest {

    private static final Map<String, Object> SHARED = Map.of(
            "bootstrap.servers", "broker:9093",
            "security.protocol", "SASL_SSL",
            "sasl.mechanism", "SCRAM-SHA-512",
            "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"a\" password=\"b\";",
            "ssl.truststore.location", "/etc/steergate/truststore.p12",
            "enable.auto.commit", "true",
            "acks", "0",
            "client.id", "steergate",
            "group.id", "steergate");

    @Test
    void securitySettingsReachTheWorkerConsumerAndItsOwnSettingsWin() {
        Properties props = JobWorker.consumerProperties(new KafkaClientSettings(SHARED), "steergate-workers", 7);

        assertSecurity(props);
        assertEquals("steergate-workers", props.get("group.id"));
        assertEquals(false, props.get("enable.auto.commit"));
        assertEquals(7, props.get("max.poll.records"));
        assertEquals("steergate-worker", props.get("client.id"));
        assertEquals(CooperativeStickyAssignor.class.getName(), props.get("partition.assignment.strategy"),
                "a rebalance moves only the partitions that change owner (ContinuousJobLoopRebalanceTest)");
    }

    @Test
    void securitySettingsReachTheWorkerProducerAndItsOwnSettingsWin() {
        Properties props = JobWorker.producerProperties(new KafkaClientSettings(SHARED));

        assertSecurity(props);
        assertEquals("all", props.get("acks"));
        assertEquals(true, props.get("enable.idempotence"));
        assertEquals("steergate-worker", props.get("client.id"));
        assertFalse(props.containsKey("group.id"));
    }

    @Test
    void streamedPiecesGoOutAtOnceAndCancelsAreReadWithoutAGroup() {
        Properties tokens = JobWorker.tokenProducerProperties(new KafkaClientSettings(SHARED));
        Properties cancels = JobWorker.cancelsConsumerProperties(new KafkaClientSettings(SHARED));

        assertSecurity(tokens);
        assertEquals("all", tokens.get("acks"));
        assertEquals(true, tokens.get("enable.idempotence"));
        assertEquals(0, tokens.get("linger.ms"));
        assertSecurity(cancels);
        assertFalse(cancels.containsKey("group.id"), "assigned partitions: no group, no group ACL");
        assertEquals(false, cancels.get("enable.auto.commit"));
    }

    private static void assertSecurity(Properties props) {
        assertEquals("broker:9093", props.get("bootstrap.servers"));
        assertEquals("SASL_SSL", props.get("security.protocol"));
        assertEquals("SCRAM-SHA-512", props.get("sasl.mechanism"));
        assertEquals(SHARED.get("sasl.jaas.config"), props.get("sasl.jaas.config"));
        assertEquals("/etc/steergate/truststore.p12", props.get("ssl.truststore.location"));
    }
}
