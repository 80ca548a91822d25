package io.steergate.launcher;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Checks before anything starts that the ports the stack needs are free, and names the process holding one
 * where Linux's /proc tells (the process must be visible to this user).
 */
final class Ports {

    /** A port the stack listens on, with the flag that sets it. */
    record Need(int port, String flag, String what) {}

    private Ports() {
    }

    /** One message per needed port that is taken; empty when all are free. */
    static List<String> taken(List<Need> needs) {
        List<String> messages = new ArrayList<>();
        for (Need need : needs) {
            if (!isFree(need.port())) {
                String holder = listener(need.port())
                        .map(process -> "by pid " + process.pid() + " (" + Processes.describe(process) + ")")
                        .orElse(Files.isDirectory(Path.of("/proc", "net")) ? "by a process this user cannot see" : "");
                messages.add("port " + need.port() + " (" + need.what() + ", " + need.flag() + ") is already in use"
                        + (holder.isEmpty() ? "" : " " + holder) + "; stop it or choose another port with " + need.flag());
            }
        }
        return messages;
    }

    /**
     * Binds 127.0.0.1:port as the servers will. SO_REUSEADDR as they set it: a connection of a previous run in
     * TIME_WAIT does not count, a listener on 127.0.0.1, 0.0.0.0 or :: does.
     */
    static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The process with a TCP socket listening on this port: /proc/net/tcp{,6} give its inode, /proc/PID/fd its owner. */
    static Optional<ProcessHandle> listener(int port) {
        Set<String> inodes = new HashSet<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            try {
                for (String line : Files.readAllLines(Path.of(table), StandardCharsets.US_ASCII)) {
                    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
                    String[] fields = line.strip().split("\\s+");
                    if (fields.length > 9 && fields[3].equals("0A") // LISTEN
                            && fields[1].toUpperCase(Locale.ROOT).endsWith(String.format(":%04X", port))) {
                        inodes.add("socket:[" + fields[9] + "]");
                    }
                }
            } catch (IOException e) {
                // not Linux, or no IPv6: nothing to learn from this table
            }
        }
        if (inodes.isEmpty()) {
            return Optional.empty();
        }
        try (Stream<Path> processes = Files.list(Path.of("/proc"))) {
            return processes
                    .filter(dir -> dir.getFileName().toString().chars().allMatch(Character::isDigit))
                    .filter(dir -> holdsAny(dir.resolve("fd"), inodes))
                    .findFirst()
                    .flatMap(dir -> ProcessHandle.of(Long.parseLong(dir.getFileName().toString())));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static boolean holdsAny(Path fdDir, Set<String> inodes) {
        try (Stream<Path> fds = Files.list(fdDir)) {
            return fds.anyMatch(fd -> {
                try {
                    return inodes.contains(Files.readSymbolicLink(fd).toString());
                } catch (IOException | UnsupportedOperationException e) {
                    return false; // closed meanwhile, or not ours to read
                }
            });
        } catch (IOException e) {
            return false; // the process ended, or its fds are not ours to read
        }
    }
}
