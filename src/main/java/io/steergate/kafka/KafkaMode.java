package io.steergate.kafka;

import io.steergate.messages.SafeText;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How clients reach the gateway over Kafka (docs/architecture.md 4.1), set by {@value #PROPERTY}. {@link #SHARED}: one
 * platform writes steer.requests and reads steer.results, and the {@code tenant} field of a request is trusted.
 * {@link #PER_TENANT}: each tenant has its own topics ({@link TenantTopics}), and a request's tenant is its topic's.
 */
public enum KafkaMode {
    SHARED("shared"),
    PER_TENANT("per-tenant");

    public static final String PROPERTY = "steergate.kafka.mode";

    private final String value;

    KafkaMode(String value) {
        this.value = value;
    }

    /** The name an operator writes in {@value #PROPERTY}. */
    public String value() {
        return value;
    }

    /** The mode {@code value} names; absent (null or blank) is {@link #SHARED}, anything else unknown is refused. */
    public static KafkaMode of(String value) {
        if (value == null || value.isBlank()) {
            return SHARED;
        }
        for (KafkaMode mode : values()) {
            if (mode.value.equals(value.trim())) {
                return mode;
            }
        }
        throw new IllegalArgumentException(PROPERTY + " must be one of " + allowed() + ", got \""
                + SafeText.of(value, 64) + "\"");
    }

    private static String allowed() {
        return Arrays.stream(values()).map(KafkaMode::value).collect(Collectors.joining(", "));
    }
}
