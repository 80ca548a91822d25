package io.steergate.testing;

import java.util.HashMap;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Starts the embedded Kafka broker and PostgreSQL before the application boots and hands their addresses
 * to it as configuration. Use it through {@link SteerGateTestProfile} so every @QuarkusTest shares one
 * boot. Tests read the addresses back from the application's config (for example
 * {@code @ConfigProperty(name = "kafka.bootstrap.servers")}); static state here may live in another
 * class loader than the test's.
 */
public class KafkaAndPostgresResource implements QuarkusTestResourceLifecycleManager {

    /** Topics created up front, so consumers in the app and in tests never race the auto-creation. */
    static final String[] TOPICS = {
        "steer.requests", "steer.results", "steer.requests.dlq", "steer.jobs", "steer.jobs.dlq", "steer.job-results",
        "steer.job-results.dlq", "steer.retraining", "steer.retraining.dlq"
    };
    static final int PARTITIONS = 4;

    private EmbeddedKafka kafka;
    private EmbeddedPostgresServer postgres;

    @Override
    public Map<String, String> start() {
        postgres = new EmbeddedPostgresServer().start();
        kafka = new EmbeddedKafka(PARTITIONS).start();
        kafka.createTopics(PARTITIONS, TOPICS);
        Map<String, String> config = new HashMap<>(postgres.datasourceConfig());
        config.put("kafka.bootstrap.servers", kafka.bootstrapServers());
        // for tests that act behind the application's back (tampering with audit records)
        config.put("steergate.test.postgres.superuser", postgres.username());
        config.put("steergate.test.postgres.superuser-password", postgres.password());
        return config;
    }

    @Override
    public void stop() {
        try {
            if (kafka != null) {
                kafka.close();
            }
        } finally {
            if (postgres != null) {
                postgres.close();
            }
        }
    }
}
