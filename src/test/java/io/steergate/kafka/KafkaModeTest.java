package io.steergate.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** steergate.kafka.mode: its values, and the requests channel settings it alone switches. */
class KafkaModeTest {

    private static final String CHANNEL = "mp.messaging.incoming.requests.";
    /** What application.properties says about the channel; the mode must override it without the operator's help. */
    private static final Map<String, String> APPLICATION_PROPERTIES = Map.of(
            CHANNEL + "connector", "smallrye-kafka",
            CHANNEL + "topic", "steer.requests");

    @Test
    void readsTheTwoModesAndTakesSharedWhenUnset() {
        assertEquals(KafkaMode.SHARED, KafkaMode.of("shared"));
        assertEquals(KafkaMode.PER_TENANT, KafkaMode.of("per-tenant"));
        assertEquals(KafkaMode.SHARED, KafkaMode.of(null));
        assertEquals(KafkaMode.SHARED, KafkaMode.of(" "));
    }

    @Test
    void anyOtherValueIsRefusedNamingThePropertyAndTheAllowedValues() {
        for (String bad : new String[] {"per_tenant", "PER-TENANT", "tenant", "shared,per-tenant"}) {
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> KafkaMode.of(bad));
            assertEquals("steergate.kafka.mode must be one of shared, per-tenant, got \"" + bad + "\"", refused.getMessage());
        }
        IllegalArgumentException escaped = assertThrows(IllegalArgumentException.class, () -> KafkaMode.of("x\ny"));
        assertFalse(escaped.getMessage().contains("\n"), escaped.getMessage());
    }

    @Test
    void sharedModeLeavesTheRequestsChannelOnSteerRequests() {
        SmallRyeConfig config = config(Map.of("steergate.kafka.mode", "shared"));
        assertEquals("steer.requests", config.getRawValue(CHANNEL + "topic"));
        assertEquals(null, config.getRawValue(CHANNEL + "pattern"));
        assertEquals(null, config.getRawValue(CHANNEL + "metadata.max.age.ms"));
    }

    @Test
    void perTenantModeSubscribesByTheTenantsPatternAndNoticesNewTopicsWithinSeconds() {
        SmallRyeConfig config = config(Map.of("steergate.kafka.mode", "per-tenant"));
        assertEquals("true", config.getRawValue(CHANNEL + "pattern"));
        assertEquals(TenantTopics.REQUESTS_PATTERN.pattern(), config.getRawValue(CHANNEL + "topic"));
        assertEquals("5000", config.getRawValue(CHANNEL + "metadata.max.age.ms"));
        // SmallRye Kafka compiles the topic as a pattern and Kafka matches whole names: tenants' requests topics only
        Pattern subscribed = Pattern.compile(config.getRawValue(CHANNEL + "topic"));
        assertTrue(subscribed.matcher("steer.requests.kids-co").matches());
        assertFalse(subscribed.matcher("steer.requests.kids-co.dlq").matches());
        assertFalse(subscribed.matcher("steer.requests").matches());
        assertFalse(subscribed.matcher("steer.results.kids-co").matches());
        // the channel's settings are passed to the consumer by name: the factory's names must be among them
        Set<String> names = new HashSet<>();
        config.getPropertyNames().forEach(names::add);
        assertTrue(names.contains(CHANNEL + "metadata.max.age.ms"), names.toString());
    }

    @Test
    void anOperatorsEnvironmentStillWinsOverTheModesChannelSettings() {
        Map<String, String> env = Map.of(CHANNEL + "topic", "steer\\.requests\\.(acme|kids-co)");
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withSources(new PropertiesConfigSource(withMode("per-tenant"), "application.properties", 250))
                .withSources(new PropertiesConfigSource(env, "environment", 300))
                .withSources(new KafkaModeChannels())
                .build();
        assertEquals("steer\\.requests\\.(acme|kids-co)", config.getRawValue(CHANNEL + "topic"));
        assertEquals("true", config.getRawValue(CHANNEL + "pattern"));
    }

    @Test
    void anUnknownModeFailsTheConfigurationAtStart() {
        RuntimeException refused = assertThrows(RuntimeException.class, () -> config(Map.of("steergate.kafka.mode", "private")));
        Throwable cause = refused;
        while (!(cause instanceof IllegalArgumentException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        assertTrue(cause.getMessage().contains("steergate.kafka.mode must be one of shared, per-tenant"), cause.toString());
    }

    private static SmallRyeConfig config(Map<String, String> mode) {
        return new SmallRyeConfigBuilder()
                .withSources(new PropertiesConfigSource(APPLICATION_PROPERTIES, "application.properties", 250))
                .withSources(new PropertiesConfigSource(mode, "mode", 250))
                .withSources(new KafkaModeChannels())
                .build();
    }

    private static Map<String, String> withMode(String mode) {
        Map<String, String> all = new HashMap<>(APPLICATION_PROPERTIES);
        all.put("steergate.kafka.mode", mode);
        return all;
    }
}
