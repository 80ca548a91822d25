package io.steergate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.steergate.kafka.KafkaMode;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class KafkaTopicRoutingTest {

    private final KafkaTopicRouting shared = new KafkaTopicRouting(KafkaMode.SHARED, "steer.results", "steer.requests.dlq");
    private final KafkaTopicRouting perTenant = new KafkaTopicRouting(KafkaMode.PER_TENANT, "steer.results", "steer.requests.dlq");

    @Test
    void sharedModeUsesTheConfiguredTopicsForEveryTenantAndTrustsNoTopic() {
        assertEquals("steer.results", shared.resultsTopic("acme"));
        assertEquals("steer.results", shared.resultsTopic(null));
        assertEquals("steer.requests.dlq", shared.deadLetterTopic("steer.requests"));
        assertEquals("steer.requests.dlq", shared.deadLetterTopic("steer.requests.acme"));
        assertEquals(Optional.empty(), shared.tenantOf("steer.requests.acme"));
    }

    @Test
    void perTenantModeAnswersEachTenantOnItsOwnTopics() {
        assertEquals("steer.results.acme", perTenant.resultsTopic("acme"));
        assertEquals("steer.results.kids-co", perTenant.resultsTopic("kids-co"));
        assertEquals("steer.requests.kids-co.dlq", perTenant.deadLetterTopic("steer.requests.kids-co"));
        assertEquals(Optional.of("kids-co"), perTenant.tenantOf("steer.requests.kids-co"));
    }

    @Test
    void perTenantModeFallsBackToTheSharedTopicsWhereNoTenantIsKnown() {
        // a result stored in shared mode without a tenant, replayed after the switch
        assertEquals("steer.results", perTenant.resultsTopic(null));
        // a topic that is no tenant's requests topic fixes no tenant, and its dead letters go to the shared topic
        assertEquals(Optional.empty(), perTenant.tenantOf("steer.requests"));
        assertEquals(Optional.empty(), perTenant.tenantOf("steer.requests.acme.dlq"));
        assertEquals("steer.requests.dlq", perTenant.deadLetterTopic("steer.requests"));
        assertEquals("steer.requests.dlq", perTenant.deadLetterTopic("other.topic"));
    }
}
