package io.steergate.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Who may do what on the embedded broker is the application's to say: the launcher runs its
 * {@code steer kafka setup} (upserts the SCRAM users steergate and client with the passwords on file and grants their
 * ACLs; idempotent) as a subprocess on the packaged application's class path, at every start, once the broker is
 * ready and the topics exist. The passwords travel in files, never on the command line.
 */
final class KafkaAccess {

    private static final long TIMEOUT_SECONDS = 120;

    /** Why {@code steer kafka setup} did not succeed: its exit and its output. */
    static final class Failed extends Exception {
        Failed(String message) {
            super(message);
        }
    }

    private KafkaAccess() {
    }

    /** Runs {@code steer kafka setup}; its output is forwarded, prefixed. */
    static void setUp(Path appJar, KafkaCredentials credentials) throws Failed, IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // the application's log manager (lib/boot), as quarkus-run.jar would set it; without it JBoss Logging
                // prints an ERROR about the order in which it was set up
                "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
                "-cp", classPath(appJar), "io.steergate.cli.SteerCli"));
        command.addAll(arguments(credentials.adminSettingsFile().toString(),
                credentials.passwordFile(KafkaCredentials.APP).toString(),
                credentials.passwordFile(KafkaCredentials.CLIENT).toString()));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().close();
        Thread reader = new Thread(() -> forward(process.getInputStream()), "steer-kafka-setup-output");
        reader.setDaemon(true);
        reader.start();
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new Failed("`steer kafka setup` did not finish within " + TIMEOUT_SECONDS + " s");
        }
        reader.join(TimeUnit.SECONDS.toMillis(5));
        if (process.exitValue() != 0) {
            throw new Failed("`steer kafka setup` exited with code " + process.exitValue() + " (its output is above): the"
                    + " application's Kafka users and ACLs are not set. An application jar older than this launcher has no"
                    + " such command: rebuild it (`./mvnw -B package -DskipTests`).");
        }
    }

    /** The command's arguments, for the launcher and for the hint it prints when it cannot run them itself. */
    static List<String> arguments(String adminConfig, String appPasswordFile,
            String clientPasswordFile) {
        return List.of("kafka", "setup", "--admin-config", adminConfig,
                "--app-user", KafkaCredentials.APP, "--app-password-file", appPasswordFile,
                "--client-user", KafkaCredentials.CLIENT, "--client-password-file", clientPasswordFile);
    }

    /**
     * The packaged application's class path: Quarkus' fast-jar layout beside quarkus-run.jar ({@code app/}, the
     * libraries in {@code lib/main/} and the boot ones, logging among them, in {@code lib/boot/}); any other jar is
     * taken to carry its dependencies (an uber-jar).
     */
    static String classPath(Path appJar) {
        Path dir = appJar.toAbsolutePath().normalize().getParent();
        if (dir != null && Files.isDirectory(dir.resolve("lib").resolve("main"))) {
            return String.join(java.io.File.pathSeparator, dir.resolve("app") + "/*", dir.resolve("lib").resolve("main") + "/*",
                    dir.resolve("lib").resolve("boot") + "/*");
        }
        return appJar.toAbsolutePath().normalize().toString();
    }

    private static void forward(InputStream in) {
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = lines.readLine()) != null; ) {
                System.out.println("[steer kafka setup] " + line);
            }
        } catch (IOException e) {
            // the process is gone
        }
    }
}
