package io.steergate.kafka;

import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * The Kafka settings every client of the application shares: each {@code kafka.*} property (or {@code KAFKA_*}
 * environment variable) without its prefix, so bootstrap servers and security (security.protocol, sasl.*, ssl.*,
 * tls-configuration-name) are configured once. It reads Quarkus' "default-kafka-broker" map, the same one the
 * SmallRye channels start from, so hand-built clients cannot drift from the channels.
 */
@ApplicationScoped
public class KafkaClientSettings {

    private final Map<String, Object> shared;

    @Inject
    public KafkaClientSettings(@Identifier("default-kafka-broker") Map<String, Object> shared) {
        this.shared = Map.copyOf(shared);
    }

    /**
     * Producer properties: the shared settings, then the client's own, which win because the client's guarantees
     * (acks, idempotence, its client id) depend on them. group.id is dropped: Quarkus fills it in from the
     * application name for consumers, and a producer would only warn about it.
     */
    public Properties producer(Map<String, Object> own) {
        Properties props = merged(own);
        if (!own.containsKey("group.id")) {
            props.remove("group.id");
        }
        return props;
    }

    /**
     * Properties of a producer that loses nothing the broker acknowledged and adds no duplicates when it retries (all
     * replicas acknowledge; idempotent), as every hand-built producer of the application needs: the shared settings,
     * these, then the client's own extras (timeouts, sizes), which win. No linger: a record goes out at once, and those
     * sent while a request is in flight still share the next one, so a lone result does not wait for company.
     */
    public Properties reliableProducer(String clientId, Map<String, Object> extras) {
        Map<String, Object> own = new HashMap<>(Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.LINGER_MS_CONFIG, 0,
                ProducerConfig.CLIENT_ID_CONFIG, clientId));
        own.putAll(extras);
        return producer(own);
    }

    /** Consumer properties: the shared settings, then the client's own (group id, offsets, poll size), which win. */
    public Properties consumer(Map<String, Object> own) {
        return merged(own);
    }

    /**
     * A consumer without a group, for a topic every instance must read whole from the moment it starts (streamed pieces,
     * cancels): it assigns itself every partition, starts at the end and never commits.
     */
    public Properties tailingConsumer(String clientId) {
        Properties props = merged(Map.of(
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest",
                ConsumerConfig.CLIENT_ID_CONFIG, clientId));
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        return props;
    }

    /** Admin client properties: the shared settings, then the client's own, which win; group.id is a consumer's. */
    public Properties admin(Map<String, Object> own) {
        Properties props = merged(own);
        props.remove("group.id");
        return props;
    }

    private Properties merged(Map<String, Object> own) {
        Properties props = new Properties();
        props.putAll(shared);
        props.putAll(own);
        return props;
    }
}
