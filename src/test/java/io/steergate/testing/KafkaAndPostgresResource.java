package io.steergate.testing;

import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

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

    /** Init argument: "scram" starts a SASL/SCRAM broker and configures the application as its user. */
    static final String KAFKA_SECURITY = "kafka-security";
    /** The application's SCRAM user on such a broker. */
    public static final String SCRAM_USER = "steergate-app";

    private boolean scram;
    private EmbeddedKafka kafka;
    private EmbeddedPostgresServer postgres;

    @Override
    public void init(Map<String, String> initArgs) {
        scram = "scram".equals(initArgs.get(KAFKA_SECURITY));
    }

    @Override
    public Map<String, String> start() {
        postgres = new EmbeddedPostgresServer().start();
        Map<String, String> config = new HashMap<>(postgres.datasourceConfig());
        if (scram) {
            kafka = new EmbeddedKafka(PARTITIONS).withScram().start();
            String password = UUID.randomUUID().toString();
            kafka.createScramUser(SCRAM_USER, password);
            // the application sees only kafka.* settings, as an operator would configure them
            kafka.scramClientSettings(SCRAM_USER, password).forEach((name, value) -> config.put("kafka." + name, value.toString()));
        } else {
            kafka = new EmbeddedKafka(PARTITIONS).start();
            config.put("kafka.bootstrap.servers", kafka.bootstrapServers());
        }
        kafka.createTopics(PARTITIONS, TOPICS);
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
