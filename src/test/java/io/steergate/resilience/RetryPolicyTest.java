package io.steergate.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {

    private static SmallRyeConfig config(Map<String, String> values) {
        return new SmallRyeConfigBuilder().withSources(new PropertiesConfigSource(values, "test", 100)).build();
    }

    @Test
    void theDefaultsPauseFrom100MsDoublingTo2sAndGiveUpAfterThreeAttempts() {
        RetryPolicy policy = RetryPolicy.from(config(Map.of()));
        assertEquals(RetryPolicy.DEFAULT, policy);
        assertEquals(3, policy.permanentAttempts());
        assertEquals(100, policy.pauseMs(1));
        assertEquals(200, policy.pauseMs(2));
        assertEquals(1_600, policy.pauseMs(5));
        assertEquals(2_000, policy.pauseMs(6));
        assertEquals(2_000, policy.pauseMs(1_000));
    }

    @Test
    void eachPropertyOverridesItsDefaultAlone() {
        RetryPolicy policy = RetryPolicy.from(config(Map.of("steergate.retry.permanent-attempts", "5",
                "steergate.retry.max-pause", "PT10S")));
        assertEquals(new RetryPolicy(5, Duration.ofMillis(50), Duration.ofSeconds(10)), policy);
        assertEquals(6_400, policy.pauseMs(7));
        assertEquals(10_000, policy.pauseMs(8));
    }

    @Test
    void valuesThatCannotWorkAreRefusedNamingTheProperty() {
        for (Map<String, String> bad : java.util.List.of(
                Map.of("steergate.retry.permanent-attempts", "0"),
                Map.of("steergate.retry.first-pause", "PT0S"),
                Map.of("steergate.retry.max-pause", "PT0.01S"))) {
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> RetryPolicy.from(config(bad)));
            String property = bad.keySet().iterator().next().substring("steergate.retry.".length());
            assertTrue(refused.getMessage().contains(property), refused.getMessage());
        }
    }
}
