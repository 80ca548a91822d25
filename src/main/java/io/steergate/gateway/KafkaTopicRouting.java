package io.steergate.gateway;

import io.steergate.kafka.KafkaMode;
import io.steergate.kafka.TenantTopics;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Where the gateway publishes what it owes a client, by {@link KafkaMode}: in {@code shared} one results topic and one
 * dead-letter topic (steergate.gateway.results-topic, dlq-topic) for every tenant; in {@code per-tenant} each tenant's
 * own ({@link TenantTopics}), and the tenant of a consumed request is its topic's. Internal topics are not routed here.
 */
@Singleton
public class KafkaTopicRouting {

    private final KafkaMode mode;
    private final String sharedResults;
    private final String sharedDeadLetters;

    @Inject
    public KafkaTopicRouting(@ConfigProperty(name = KafkaMode.PROPERTY, defaultValue = "shared") String mode,
            GatewayConfig config) {
        this(KafkaMode.of(mode), config.resultsTopic(), config.dlqTopic());
    }

    KafkaTopicRouting(KafkaMode mode, String sharedResults, String sharedDeadLetters) {
        this.mode = mode;
        this.sharedResults = sharedResults;
        this.sharedDeadLetters = sharedDeadLetters;
    }

    public KafkaMode mode() {
        return mode;
    }

    /**
     * The topic a result of {@code tenant} goes to. In per-tenant mode a result without a tenant (possible only for a
     * request stored while the gateway ran in shared mode) goes to the shared results topic, as it would have then.
     */
    public String resultsTopic(String tenant) {
        return mode == KafkaMode.PER_TENANT && tenant != null ? TenantTopics.results(tenant) : sharedResults;
    }

    /**
     * The dead-letter topic of an unusable message consumed from {@code sourceTopic}: its tenant's in per-tenant mode;
     * the shared one in shared mode, and for a topic that is no tenant's requests topic (which the subscription
     * pattern keeps out, unless an operator replaced it).
     */
    public String deadLetterTopic(String sourceTopic) {
        return tenantOf(sourceTopic).map(TenantTopics::requestsDlq).orElse(sharedDeadLetters);
    }

    /** The tenant a consumed requests topic fixes: in shared mode none (the body says), in per-tenant its name's. */
    public Optional<String> tenantOf(String consumedTopic) {
        return mode == KafkaMode.PER_TENANT ? TenantTopics.tenantOfRequests(consumedTopic) : Optional.empty();
    }
}
