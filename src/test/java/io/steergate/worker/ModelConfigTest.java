package io.steergate.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.steergate.engine.model.DecodePath;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** steergate.model.* as the application reads it at start: a decode path it does not know stops the start, named. */
class ModelConfigTest {

    static ModelConfig read(Map<String, String> properties) {
        SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(ModelConfig.class)
                .withSources(new PropertiesConfigSource(properties, "test", 500)).build();
        return config.getConfigMapping(ModelConfig.class);
    }

    @Test
    void theDecodePathIsAutoUnlessSetAndReadsItsNamesInEitherCase() {
        assertEquals(DecodePath.AUTO, read(Map.of()).decodePath());
        assertEquals(DecodePath.LOOPS, read(Map.of("steergate.model.decode-path", "loops")).decodePath());
        assertEquals(DecodePath.NDARRAY, read(Map.of("steergate.model.decode-path", "NDARRAY")).decodePath());
    }

    @Test
    void anUnknownDecodePathStopsTheStartWithAMessageNamingTheKeyAndTheValue() {
        RuntimeException refused = assertThrows(RuntimeException.class,
                () -> read(Map.of("steergate.model.decode-path", "fast")).decodePath());
        String message = String.valueOf(refused.getMessage());
        assertTrue(message.contains("steergate.model.decode-path") && message.contains("fast"), message);
    }
}
