package io.steergate.testing;

import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import org.apache.kafka.common.config.SaslConfigs;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.steergate.kafka.KafkaAcls;
import io.steergate.kafka.KafkaProvisioning;

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
        "steer.requests", "steer.results", "steer.requests.dlq", TestModel.JOBS_TOPIC, "steer.jobs.dlq", "steer.job-results",
        "steer.job-results.dlq", "steer.retraining", "steer.retraining.dlq", "steer.job-tokens", "steer.job-cancels"
    };
    static final int PARTITIONS = 4;

    /**
     * Init argument: "scram" starts a SASL/SCRAM broker that authorizes with ACLs and configures the application as
     * its user, with exactly the ACLs of {@link KafkaAcls#application}.
     */
    static final String KAFKA_SECURITY = "kafka-security";
    /** The application's SCRAM user on such a broker. */
    public static final String SCRAM_USER = "steergate-app";
    /**
     * Config prefix of the broker's super user's client settings on such a broker (sasl.mechanism, sasl.jaas.config),
     * for tests that send and read as the operator rather than as the application.
     */
    public static final String KAFKA_ADMIN_PREFIX = "steergate.test.kafka-admin.";

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
            kafka = new EmbeddedKafka(PARTITIONS).withAcls().start();
            String password = UUID.randomUUID().toString();
            Properties admin = new Properties();
            admin.putAll(kafka.adminSettings());
            try (KafkaProvisioning provisioning = KafkaProvisioning.connect(admin)) {
                provisioning.upsertScramUser(SCRAM_USER, password);
                provisioning.grant(KafkaAcls.application(SCRAM_USER));
            }
            // the application sees only kafka.* settings, as an operator would configure them
            kafka.scramClientSettings(SCRAM_USER, password).forEach((name, value) -> config.put("kafka." + name, value.toString()));
            config.put(KAFKA_ADMIN_PREFIX + SaslConfigs.SASL_MECHANISM, admin.getProperty(SaslConfigs.SASL_MECHANISM));
            config.put(KAFKA_ADMIN_PREFIX + SaslConfigs.SASL_JAAS_CONFIG, admin.get(SaslConfigs.SASL_JAAS_CONFIG).toString());
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
