package io.steergate.kafka;

import io.smallrye.config.ConfigSourceContext;
import io.smallrye.config.ConfigSourceFactory;
import io.smallrye.config.ConfigValue;
import io.smallrye.config.PropertiesConfigSource;
import io.steergate.messages.Channels;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.config.spi.ConfigSource;

/**
 * Lets {@value KafkaMode#PROPERTY} alone switch the requests channel (registered in
 * META-INF/services/io.smallrye.config.ConfigSourceFactory, so it acts before SmallRye Kafka reads the channel's
 * settings). In {@link KafkaMode#PER_TENANT} the channel subscribes by {@link TenantTopics#REQUESTS_PATTERN} instead
 * of to steer.requests, and refreshes its metadata every {@value #METADATA_MAX_AGE_MS} ms: the consumer re-applies a
 * pattern only when it refreshes metadata (every 5 minutes by default), so a tenant whose topics are created while the
 * gateway runs is served within seconds rather than minutes, for one small metadata request per refresh.
 *
 * <p>The source's ordinal, {@value #ORDINAL}, is above application.properties (250, and config/application.properties
 * at 260) and below .env (295), environment variables (300) and system properties (400): an operator who sets
 * {@code MP_MESSAGING_INCOMING_REQUESTS_TOPIC} (a regular expression in this mode) or the metadata age there still wins.
 * An unknown mode fails the start, naming the property and the allowed values.
 */
public class KafkaModeChannels implements ConfigSourceFactory {

    static final int ORDINAL = 275;
    static final int METADATA_MAX_AGE_MS = 5000;
    private static final String CHANNEL = "mp.messaging.incoming." + Channels.REQUESTS + ".";

    @Override
    public Iterable<ConfigSource> getConfigSources(ConfigSourceContext context) {
        ConfigValue mode = context.getValue(KafkaMode.PROPERTY);
        if (KafkaMode.of(mode == null ? null : mode.getValue()) != KafkaMode.PER_TENANT) {
            return List.of();
        }
        return List.of(new PropertiesConfigSource(perTenantRequestsChannel(), "steergate.kafka.mode=per-tenant", ORDINAL));
    }

    static Map<String, String> perTenantRequestsChannel() {
        return Map.of(
                CHANNEL + "pattern", "true",
                CHANNEL + "topic", TenantTopics.REQUESTS_PATTERN.pattern(),
                CHANNEL + "metadata.max.age.ms", String.valueOf(METADATA_MAX_AGE_MS));
    }
}
