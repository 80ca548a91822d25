package io.steergate.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

/** Ports for child processes come from below the ephemeral range, distinct, and bindable when handed out. */
class LocalPortsTest {

    @Test
    void portsAreDistinctBindableAndBelowTheEphemeralRange() throws IOException {
        int start = LocalPorts.ephemeralRangeStart();
        for (int round = 0; round < 20; round++) {
            int[] ports = LocalPorts.freeBelowEphemeralRange(5);
            assertEquals(5, Arrays.stream(ports).distinct().count(), Arrays.toString(ports));
            for (int port : ports) {
                assertTrue(port >= 10_000 && port < start, port + " outside [10000, " + start + ")");
                try (ServerSocket bound = new ServerSocket(port)) {
                    assertEquals(port, bound.getLocalPort());
                }
            }
        }
    }

    @Test
    void aPortHeldOpenIsNotFree() throws IOException {
        try (ServerSocket held = new ServerSocket(LocalPorts.freeBelowEphemeralRange(1)[0])) {
            assertFalse(LocalPorts.free(held.getLocalPort()));
        }
    }

    @Test
    void askingForMorePortsThanTheTriesCanFindFailsByName() {
        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> LocalPorts.freeBelowEphemeralRange(500));
        assertTrue(refused.getMessage().contains("of 500 free ports"), refused.getMessage());
    }
}
