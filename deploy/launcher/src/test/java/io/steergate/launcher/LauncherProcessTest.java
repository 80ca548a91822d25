package io.steergate.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher as a user runs it: a separate JVM, here with --infra-only on free ports and a temporary data directory. */
class LauncherProcessTest {

    @TempDir
    Path dataDir;

    private final List<Launcher> launchers = new ArrayList<>();

    /** A launcher JVM and what it printed. */
    private record Launcher(Process process, List<String> lines) {

        String output() {
            synchronized (lines) {
                return String.join("\n", lines);
            }
        }

        void awaitOutput(String text, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!output().contains(text)) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    fail("no \"" + text + "\" from the launcher" + (process.isAlive() ? " within " + timeout : " (it exited)")
                            + "; output:\n" + output());
                }
                Thread.sleep(200);
            }
        }
    }

    @AfterEach
    void stopLaunchers() throws InterruptedException {
        for (Launcher launcher : launchers) {
            launcher.process().destroy(); // SIGTERM: the launcher's shutdown hook stops what it started
            launcher.process().waitFor(90, TimeUnit.SECONDS);
        }
    }

    /**
     * A launcher killed together with its watchdog leaves PostgreSQL running; the next launcher on the data
     * directory stops it and starts its own. That one, killed alone, takes its PostgreSQL with it.
     */
    @Test
    void stopsWhatAKilledLauncherLeftAndLeavesNothingWhenKilled() throws Exception {
        String[] flags = {"--infra-only", "--kafka-port", port(), "--controller-port", port(), "--postgres-port", port()};
        Launcher first = launch(flags);
        first.awaitOutput(EmbeddedStack.BANNER_TITLE, Duration.ofMinutes(3));
        ProcessHandle leftover = postmaster();
        ProcessHandle firstWatchdog = ProcessHandle.of(Long.parseLong(
                Files.readString(dataDir.resolve("run").resolve("watchdog.pid")).split("\\s+")[0])).orElseThrow();
        // frozen first, so that it cannot start another watchdog between the two kills
        new ProcessBuilder("kill", "-STOP", String.valueOf(first.process().pid())).start().waitFor();
        firstWatchdog.destroyForcibly();
        first.process().destroyForcibly();
        first.process().waitFor(30, TimeUnit.SECONDS);
        assertTrue(Processes.isRunning(leftover), "with its watchdog killed too, the first launcher's PostgreSQL keeps running");

        Launcher second = launch(flags);
        second.awaitOutput(EmbeddedStack.BANNER_TITLE, Duration.ofMinutes(3));
        assertTrue(second.output().contains("stopping PostgreSQL (pid " + leftover.pid() + ") left running"), second.output());
        assertFalse(Processes.isRunning(leftover));
        ProcessHandle postmaster = postmaster();

        second.process().destroyForcibly(); // SIGKILL: no shutdown hook runs; its watchdog stops PostgreSQL
        second.process().waitFor(30, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (Processes.isRunning(postmaster)) {
            if (System.nanoTime() > deadline) {
                fail("the postmaster (pid " + postmaster.pid() + ") still runs a minute after its launcher was killed; output:\n"
                        + second.output());
            }
            Thread.sleep(200);
        }
    }

    @Test
    void refusesToStartOnATakenPortAndNamesItsHolder() throws Exception {
        try (ServerSocket held = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            Launcher launcher = launch("--infra-only", "--kafka-port", port(), "--controller-port", port(),
                    "--postgres-port", String.valueOf(held.getLocalPort()));
            assertTrue(launcher.process().waitFor(2, TimeUnit.MINUTES), "the launcher did not give up; output:\n" + launcher.output());
            assertEquals(1, launcher.process().exitValue(), launcher.output());
            String expected = "port " + held.getLocalPort() + " (PostgreSQL, --postgres-port) is already in use by pid "
                    + ProcessHandle.current().pid();
            assertTrue(launcher.output().contains(expected), "expected \"" + expected + "\" in:\n" + launcher.output());
        }
    }

    private ProcessHandle postmaster() {
        return Postgres.postmasterOf(dataDir.resolve("postgres"))
                .orElseThrow(() -> new AssertionError("no live postmaster for " + dataDir.resolve("postgres")));
    }

    private Launcher launch(String... flags) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), EmbeddedStack.class.getName(), "--data-dir", dataDir.toString()));
        command.addAll(List.of(flags));
        Launcher launcher = new Launcher(new ProcessBuilder(command).redirectErrorStream(true).start(), new ArrayList<>());
        launchers.add(launcher);
        Thread reader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(launcher.process().getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) {
                    System.out.println("[launcher " + launcher.process().pid() + "] " + line);
                    synchronized (launcher.lines()) {
                        launcher.lines().add(line);
                    }
                }
            } catch (IOException e) {
                // the launcher is gone
            }
        }, "launcher-output");
        reader.setDaemon(true);
        reader.start();
        return launcher;
    }

    private static String port() throws IOException {
        return String.valueOf(PostgresTest.freePort());
    }
}
