package io.steergate.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import org.junit.jupiter.api.Test;

/**
 * The embedded broker's message.max.bytes follows what the application promises: a change to
 * steergate.limits.message-bytes that the launcher does not follow fails here, not in a user's hands.
 */
class BrokerLimitsTest {

    @Test
    void theBrokerTakesEveryRequestTheApplicationPromisesToAnswer() throws IOException {
        Properties application = new Properties();
        try (InputStream in = Files.newInputStream(Path.of("../../src/main/resources/application.properties"))) {
            application.load(in);
        }
        assertEquals(Integer.parseInt(application.getProperty("steergate.limits.message-bytes").trim()),
                EmbeddedStack.MESSAGE_BYTES);
    }
}
