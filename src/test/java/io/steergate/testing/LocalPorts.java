package io.steergate.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * Ports for a server that another JVM will bind a little later (a broker or application process a test starts).
 *
 * <p>They are chosen below the kernel's ephemeral range, where no outgoing connection gets its local port. A port the
 * kernel hands out with {@code new ServerSocket(0)} comes from that range, and between the probe and the child's bind a
 * Kafka or JDBC client socket of this JVM or another can take it: one fault-suite run failed with "Address already in
 * use" that way.
 */
public final class LocalPorts {

    private static final int LOWEST = 10_000;
    private static final int TRIES = 200;
    private static final int DEFAULT_EPHEMERAL_START = 32_768;
    private static final Random RANDOM = new Random();

    private LocalPorts() {
    }

    /** {@code count} distinct ports, each free when probed, from 10000 up to the ephemeral range's start. */
    public static int[] freeBelowEphemeralRange(int count) {
        int below = ephemeralRangeStart();
        int[] ports = new int[count];
        int found = 0;
        for (int attempt = 0; attempt < TRIES && found < count; attempt++) {
            int port = LOWEST + RANDOM.nextInt(below - LOWEST);
            if (Arrays.stream(ports, 0, found).noneMatch(chosen -> chosen == port) && free(port)) {
                ports[found++] = port;
            }
        }
        if (found < count) {
            throw new IllegalStateException("found " + found + " of " + count + " free ports between " + LOWEST
                    + " and " + below + " in " + TRIES + " tries");
        }
        return ports;
    }

    static boolean free(int port) {
        try (ServerSocket socket = new ServerSocket(port)) {
            return true;
        } catch (IOException taken) {
            return false;
        }
    }

    /** The first port of Linux's ephemeral range (ip_local_port_range), 32768 where it cannot be read or is too low. */
    static int ephemeralRangeStart() {
        try {
            String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
            int start = Integer.parseInt(range.split("\\s+")[0]);
            return start > LOWEST + 1_000 ? start : DEFAULT_EPHEMERAL_START;
        } catch (IOException | RuntimeException unreadable) {
            return DEFAULT_EPHEMERAL_START;
        }
    }
}
