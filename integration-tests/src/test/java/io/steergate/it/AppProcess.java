package io.steergate.it;

import io.steergate.testing.TestModel;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.steergate.testing.ChildProcesses;
import io.steergate.testing.EmbeddedKafka;
import io.steergate.testing.EmbeddedPostgresServer;
import io.steergate.testing.LocalPorts;

/**
 * The packaged application (quarkus-run.jar) as a separate JVM, pointed at a broker and a database that
 * outlive it (in the test JVM, or in processes of their own for the fault suite). Output goes to a log file under target/; start() returns once
 * GET /q/health/ready answers 200. kill() is SIGKILL (no shutdown hooks run), stop() is SIGTERM.
 */
public final class AppProcess implements AutoCloseable {

    private static final Duration READY_TIMEOUT =
            Duration.ofSeconds(Long.getLong("steergate.it.ready-timeout-s", 120));
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    private final Path appJar;
    private final Map<String, String> env;
    private final List<String> jvmArgs;
    private final Path logFile;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final Path credentialsDir;
    private Process process;
    private int httpPort;
    private int managementPort;
    private int starts;

    /**
     * @param appJar  the packaged application's quarkus-run.jar
     * @param env     environment for the application, on top of this JVM's own (QUARKUS_HTTP_PORT,
     *                QUARKUS_MANAGEMENT_PORT and STEERGATE_AUTH_BOOTSTRAP_DIR are set here)
     * @param jvmArgs extra JVM options, placed before -jar
     * @param logFile where stdout and stderr go; appended to across restarts
     */
    public AppProcess(Path appJar, Map<String, String> env, List<String> jvmArgs, Path logFile) {
        this.appJar = appJar;
        this.env = Map.copyOf(env);
        this.jvmArgs = List.copyOf(jvmArgs);
        this.logFile = logFile;
        String logName = logFile.getFileName().toString();
        this.credentialsDir = logFile.resolveSibling(logName.replaceAll("\\.log$", "") + "-credentials");
    }

    /**
     * The application as failsafe configures it: jar from {@code steergate.app.jar}, model from
     * {@link TestModel#dir()}, log at target/it-logs/{name}.log, Kafka and PostgreSQL from the arguments.
     */
    public static AppProcess against(EmbeddedKafka kafka, EmbeddedPostgresServer postgres, String name) {
        return against(kafka, postgres, name, Map.of());
    }

    /** As {@link #against(EmbeddedKafka, EmbeddedPostgresServer, String)}, with extra environment (roles, limits). */
    public static AppProcess against(EmbeddedKafka kafka, EmbeddedPostgresServer postgres, String name,
            Map<String, String> extraEnv) {
        return against(kafka.bootstrapServers(), postgres, name, extraEnv);
    }

    /** As {@link #against(EmbeddedKafka, EmbeddedPostgresServer, String, Map)}, for a broker in another process. */
    public static AppProcess against(String bootstrapServers, EmbeddedPostgresServer postgres, String name,
            Map<String, String> extraEnv) {
        Path jar = Path.of(requiredProperty("steergate.app.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("the packaged application is missing: " + jar
                    + " (run ./mvnw package first; failsafe runs after packaging)");
        }
        Map<String, String> env = new LinkedHashMap<>();
        env.put("KAFKA_BOOTSTRAP_SERVERS", bootstrapServers);
        // the two roles: the application's may only insert audit records; Flyway migrates as the owner
        postgres.datasourceConfig().forEach((key, value) -> env.put(key.toUpperCase().replace('.', '_').replace('-', '_'), value));
        env.put("STEERGATE_AUDIT_SIGNING_KEY", Path.of("target/it-credentials/audit-signing.key").toAbsolutePath().toString());
        env.put("STEERGATE_MODEL_DIR", TestModel.dir().toAbsolutePath().normalize().toString());
        env.put("DJL_OFFLINE", "true");
        // the suites start the application dozens of times: a short warm-up still runs its whole path at every start
        env.put("STEERGATE_WORKER_WARM_UP", "PT0.5S");
        env.putAll(extraEnv);
        List<String> jvmArgs = new ArrayList<>(List.of(
                "-Dai.djl.offline=true",
                // 1 torch thread: 2 shared cores oversubscribe otherwise (docs/architecture.md 5)
                "-Dai.djl.pytorch.num_threads=1",
                "-Dai.djl.pytorch.num_interop_threads=1",
                "-Xmx1g"));
        String extra = System.getProperty("steergate.it.app.jvm", "").trim();
        if (!extra.isEmpty()) {
            jvmArgs.addAll(List.of(extra.split("\\s+")));
        }
        Path logDir = Path.of(System.getProperty("steergate.it.log.dir", "target/it-logs"));
        return new AppProcess(jar, env, jvmArgs, logDir.resolve(name + ".log"));
    }

    private static String requiredProperty(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("system property " + name + " is not set (failsafe sets it in pom.xml)");
        }
        return value;
    }

    /** Starts the JVM on a free HTTP port and waits until it reports ready; fails with the log's tail. */
    public synchronized AppProcess start() {
        if (isAlive()) {
            throw new IllegalStateException("already running as pid " + process.pid());
        }
        int[] ports = LocalPorts.freeBelowEphemeralRange(2);
        httpPort = ports[0];
        managementPort = ports[1];
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // as the launcher runs it: the decoder's attention kernels on the Vector API
        command.add("--add-modules");
        command.add("jdk.incubator.vector");
        command.addAll(jvmArgs);
        command.add("-jar");
        command.add(appJar.toAbsolutePath().toString());
        try {
            Files.createDirectories(logFile.toAbsolutePath().getParent());
            starts++;
            if (starts == 1) {
                // keys of an earlier run's database mean nothing here: the first start writes fresh ones
                deleteCredentials();
            }
            // a fresh log per AppProcess (per test class), appended to across its restarts
            StandardOpenOption mode = starts == 1 ? StandardOpenOption.TRUNCATE_EXISTING : StandardOpenOption.APPEND;
            Files.writeString(logFile, "=== start " + starts + " at " + Instant.now() + " on port " + httpPort + ": "
                    + String.join(" ", command) + System.lineSeparator(), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE, mode);
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
            builder.environment().putAll(env);
            builder.environment().put("QUARKUS_HTTP_PORT", String.valueOf(httpPort));
            builder.environment().put("QUARKUS_MANAGEMENT_PORT", String.valueOf(managementPort));
            builder.environment().put("STEERGATE_AUTH_BOOTSTRAP_DIR", credentialsDir.toAbsolutePath().toString());
            process = builder.start();
        } catch (IOException e) {
            throw new IllegalStateException("could not start " + command, e);
        }
        awaitReady();
        return this;
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        HttpRequest ready = HttpRequest.newBuilder(URI.create(managementUrl() + "/q/health/ready"))
                .timeout(Duration.ofSeconds(5)).GET().build();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the application exited with code " + process.exitValue()
                        + " before it was ready; log " + logFile + ":\n" + logTail(60));
            }
            try {
                HttpResponse<String> response = http.send(ready, HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    return;
                }
                last = response.statusCode() + " " + response.body();
            } catch (IOException e) {
                last = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the application", e);
            }
            sleep(500);
        }
        String tail = logTail(60);
        kill();
        throw new IllegalStateException("the application was not ready within " + READY_TIMEOUT + " (last: " + last
                + "); log " + logFile + ":\n" + tail);
    }

    /** SIGKILL: the JVM gets no chance to commit, flush or run shutdown hooks. Waits until it is gone. */
    public synchronized void kill() {
        if (process != null) {
            ChildProcesses.kill(process, STOP_TIMEOUT, "the application");
        }
    }

    /** SIGTERM: a graceful Quarkus shutdown; SIGKILL if it takes longer than 30 s. */
    public synchronized void stop() {
        if (process != null) {
            ChildProcesses.stop(process, STOP_TIMEOUT, "the application");
        }
    }

    /** Stops the running JVM gracefully (if any) and starts a new one. */
    public AppProcess restart() {
        stop();
        return start();
    }

    public synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** The exit code of the last JVM; 137 after kill(), 143 (or 0) after stop() on Linux. */
    public synchronized int exitValue() {
        if (process == null) {
            throw new IllegalStateException("never started");
        }
        return process.exitValue();
    }

    public synchronized long pid() {
        if (process == null) {
            throw new IllegalStateException("never started");
        }
        return process.pid();
    }

    public synchronized int httpPort() {
        return httpPort;
    }

    /** http://127.0.0.1:port of the current JVM; the port changes on every start. */
    public synchronized String baseUrl() {
        return "http://127.0.0.1:" + httpPort;
    }

    /** The management interface (health, metrics) of the current JVM; the port changes on every start. */
    public synchronized String managementUrl() {
        return "http://127.0.0.1:" + managementPort;
    }

    /**
     * The API key the application wrote on its first start for {@code tenant}'s client (tenants acme, kids-co and
     * story-app unless STEERGATE_AUTH_BOOTSTRAP_TENANTS says otherwise); a gateway-role process only.
     */
    public String clientKey(String tenant) {
        return readKey("client-" + tenant + ".key");
    }

    /** The operator key the application wrote on its first start (every tenant). */
    public String operatorKey() {
        return readKey("operator.key");
    }

    /** {@code Bearer <tenant's client key>}, for an Authorization header. */
    public String clientAuthorization(String tenant) {
        return "Bearer " + clientKey(tenant);
    }

    /** Reads a key file, waiting a little: the application may answer ready a moment before it has written them. */
    private String readKey(String file) {
        Path path = credentialsDir.resolve(file);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!Files.isRegularFile(path) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted waiting for " + path, e);
            }
        }
        try {
            return Files.readString(path, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new IllegalStateException("no " + file + " in " + credentialsDir + " (is this a gateway that has started?)", e);
        }
    }

    private void deleteCredentials() throws IOException {
        if (Files.isDirectory(credentialsDir)) {
            try (var files = Files.list(credentialsDir)) {
                for (Path file : files.toList()) {
                    Files.delete(file);
                }
            }
            Files.delete(credentialsDir);
        }
    }

    /**
     * What the process says about itself, for failure messages: whether it runs, and the status and body of
     * /q/health/live and /q/health/ready.
     */
    public synchronized String health() {
        if (!isAlive()) {
            return process == null ? "never started" : "exited with code " + process.exitValue();
        }
        return "pid " + process.pid() + ", live: " + probe("/q/health/live") + ", ready: " + probe("/q/health/ready");
    }

    private String probe(String path) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(managementUrl() + path)).timeout(Duration.ofSeconds(5)).GET().build();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            return response.statusCode() + " " + response.body().replaceAll("\\s+", " ");
        } catch (IOException e) {
            return "no answer (" + e + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    public Path logFile() {
        return logFile;
    }

    /** The last lines of the log, for failure messages. */
    public String logTail(int lines) {
        try {
            // lenient decoding: a crashed JVM may leave half a character behind
            List<String> all = new String(Files.readAllBytes(logFile), StandardCharsets.UTF_8).lines().toList();
            return String.join(System.lineSeparator(), all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    @Override
    public void close() {
        stop();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
