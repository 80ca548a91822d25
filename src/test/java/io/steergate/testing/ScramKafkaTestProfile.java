package io.steergate.testing;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.List;
import java.util.Map;

/**
 * {@link SteerGateTestProfile} against a broker that only accepts SASL/SCRAM-SHA-512 clients and authorizes with ACLs
 * (the application has those of KafkaAcls.application): the application gets its
 * credentials as kafka.security.protocol, kafka.sasl.mechanism and kafka.sasl.jaas.config. A boot of its own.
 */
public class ScramKafkaTestProfile implements QuarkusTestProfile {

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(
                new TestResourceEntry(KafkaAndPostgresResource.class, Map.of(KafkaAndPostgresResource.KAFKA_SECURITY, "scram")),
                new TestResourceEntry(CredentialsResource.class));
    }
}
