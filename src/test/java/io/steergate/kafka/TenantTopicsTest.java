package io.steergate.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TenantTopicsTest {

    @Test
    void namesTheThreeTopicsOfATenant() {
        assertEquals(List.of("steer.requests.kids-co", "steer.results.kids-co", "steer.requests.kids-co.dlq"),
                TenantTopics.of("kids-co"));
    }

    @Test
    void readsTheTenantOnlyFromARequestsTopic() {
        assertEquals(Optional.of("kids-co"), TenantTopics.tenantOfRequests("steer.requests.kids-co"));
        assertEquals(Optional.empty(), TenantTopics.tenantOfRequests("steer.requests.kids-co.dlq"));
        assertEquals(Optional.empty(), TenantTopics.tenantOfRequests("steer.requests"));
        assertEquals(Optional.empty(), TenantTopics.tenantOfRequests("steer.requests."));
        assertEquals(Optional.empty(), TenantTopics.tenantOfRequests("steer.results.kids-co"));
        assertEquals(Optional.empty(), TenantTopics.tenantOfRequests("steerXrequests.kids-co"));
        assertEquals(Optional.empty(), TenantTopics.tenantOfRequests("steer.requests.Kids"));
        assertEquals(Optional.empty(), TenantTopics.tenantOfRequests("steer.requests." + "a".repeat(65)));
    }

    @Test
    void refusesANameThatIsNoTenant() {
        assertThrows(IllegalArgumentException.class, () -> TenantTopics.requests("kids.co"));
        assertThrows(IllegalArgumentException.class, () -> TenantTopics.results(""));
        assertThrows(IllegalArgumentException.class, () -> TenantTopics.requestsDlq(null));
    }
}
