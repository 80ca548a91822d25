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
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
     * directory stops it and starts its own. That one, killed alone, takes its PostgreSQL with it. On the way: the
     * Kafka credentials are created once, readable by their owner only, and the second launcher's broker (on the
     * storage the first formatted with the admin's credential) starts with the same ones.
     */
    @Test
    void stopsWhatAKilledLauncherLeftAndLeavesNothingWhenKilled() throws Exception {
        String[] flags = {"--infra-only", "--kafka-port", port(), "--controller-port", port(), "--postgres-port", port()};
        Launcher first = launch(flags);
        first.awaitOutput(EmbeddedStack.BANNER_TITLE, Duration.ofMinutes(3));
        Map<Path, String> kafkaSecrets = kafkaSecrets();
        Path clientSettings = dataDir.resolve("credentials").resolve(KafkaCredentials.CLIENT_SETTINGS).toAbsolutePath().normalize();
        assertTrue(first.output().contains("SASL_PLAINTEXT, SCRAM-SHA-512, user client, settings in " + clientSettings), first.output());
        // --infra-only without the application jar: nobody but the admin can log in yet, and the banner says so
        assertTrue(first.output().contains("Kafka users and ACLs    : NOT SET"), first.output());
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
        assertEquals(kafkaSecrets, kafkaSecrets(), "the second start reuses the Kafka credentials");
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

    /** Kafka storage formatted by a launcher from before SASL (no admin credential) is refused before anything starts. */
    @Test
    void refusesKafkaStorageFormattedWithoutTheAdminCredential() throws Exception {
        Path logDir = EmbeddedStack.KafkaBroker.logDir(dataDir.resolve("kafka"));
        Files.createDirectories(logDir);
        Files.writeString(logDir.resolve("meta.properties"), "node.id=1\nversion=1\ncluster.id=oldFormatCluster00000\n");
        Launcher launcher = launch("--infra-only", "--kafka-port", port(), "--controller-port", port(), "--postgres-port", port());
        assertTrue(launcher.process().waitFor(2, TimeUnit.MINUTES), "the launcher did not give up; output:\n" + launcher.output());
        assertEquals(1, launcher.process().exitValue(), launcher.output());
        String kafkaDir = dataDir.resolve("kafka").toAbsolutePath().normalize().toString();
        assertTrue(launcher.output().contains("was formatted without an admin credential"), launcher.output());
        assertTrue(launcher.output().contains("`rm -r " + kafkaDir + "`"), launcher.output());
        assertFalse(Files.exists(dataDir.resolve("credentials").resolve(KafkaCredentials.passwordFileName(KafkaCredentials.ADMIN))),
                "a refused start creates no admin password that the storage does not know");
        assertFalse(Files.exists(dataDir.resolve("postgres")), "nothing was started");
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

    /** The Kafka password and settings files by path, with their content; each must be readable by its owner only. */
    private Map<Path, String> kafkaSecrets() throws IOException {
        Path credentials = dataDir.resolve("credentials");
        Map<Path, String> secrets = new HashMap<>();
        for (String name : List.of(KafkaCredentials.passwordFileName(KafkaCredentials.ADMIN),
                KafkaCredentials.passwordFileName(KafkaCredentials.APP), KafkaCredentials.passwordFileName(KafkaCredentials.CLIENT),
                KafkaCredentials.CLIENT_SETTINGS, KafkaCredentials.ADMIN_SETTINGS)) {
            Path file = credentials.resolve(name);
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)), file.toString());
            secrets.put(file, Files.readString(file));
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(credentials)));
        return secrets;
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
