package io.steergate.gateway;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.steergate.testing.SteerGateTestProfile;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * A tenant's HTTP callers waiting for outcomes are bounded per instance (steergate.gateway.max-waiting-per-tenant):
 * each holds a worker thread for up to http-wait, and repeating a pending request's id costs no quota, so unbounded
 * one tenant could hold the threads every tenant's requests need.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class WaitingCallersQuarkusTest {

    @Inject
    GenerationWaiters waiters;

    @ConfigProperty(name = "steergate.gateway.max-waiting-per-tenant")
    int maxWaiting;

    private static String body(String tenant) {
        return "{\"id\":\"w-" + UUID.randomUUID() + "\",\"tenant\":\"" + tenant
                + "\",\"prompt\":\"Once upon a time\",\"maxTokens\":2,\"seed\":1}";
    }

    @Test
    void aTenantWithAsManyCallersWaitingAsAllowedIsRefusedNothingStoredAndOthersAreServed() {
        String tenant = "waiting-" + UUID.randomUUID().toString().substring(0, 8);
        List<GenerationWaiters.Watch> held = new ArrayList<>();
        try {
            // the callers of slow requests, as their waits hold them
            for (int i = 0; i < maxWaiting; i++) {
                held.add(waiters.watch(tenant, "slow-" + i));
            }
            assertTrue(waiters.full(tenant));
            given().contentType("application/json").body(body(tenant)).post("/v1/generations").then().statusCode(429)
                    .header("Retry-After", "1").body("code", equalTo("QUOTA_EXCEEDED"))
                    .body("message", containsString("steergate.gateway.max-waiting-per-tenant"));
            given().contentType("application/json").body(body("acme")).post("/v1/generations").then().statusCode(200)
                    .body("status", equalTo("COMPLETED"));

            held.remove(0).close();
            assertFalse(waiters.full(tenant), "one place free again");
            given().contentType("application/json").body(body(tenant)).post("/v1/generations").then().statusCode(200);
        } finally {
            held.forEach(GenerationWaiters.Watch::close);
        }
        assertFalse(waiters.full(tenant));
    }
}
