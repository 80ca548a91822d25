package io.steergate.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * A real single-node KRaft broker in a JVM of its own ({@link KafkaBrokerMain}, started with this JVM's java and
 * test class path), so a test can SIGKILL it or stop it and start it again on the same ports and the same log
 * directory. The ports are chosen once, at construction; the broker's output goes to a log file, emptied on the first
 * start and appended to across restarts.
 */
public final class KafkaBrokerProcess implements AutoCloseable {

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

    private final Path dataDir;
    private final Path logFile;
    private final int partitions;
    private final int port;
    private final int controllerPort;
    private Process process;
    private int starts;

    /**
     * @param dataDir    holds the broker's log directory; reused across restarts (formatted on the first start)
     * @param logFile    where the broker JVM's stdout and stderr go
     * @param partitions default partition count of auto-created topics
     */
    public KafkaBrokerProcess(Path dataDir, Path logFile, int partitions) {
        this.dataDir = dataDir.toAbsolutePath();
        this.logFile = logFile.toAbsolutePath();
        this.partitions = partitions;
        int[] ports = LocalPorts.freeBelowEphemeralRange(2);
        this.port = ports[0];
        this.controllerPort = ports[1];
    }

    /** Starts the broker JVM and returns once it answers a cluster description; fails with the log's tail. */
    public synchronized KafkaBrokerProcess start() {
        if (isAlive()) {
            throw new IllegalStateException("the broker is already running as pid " + process.pid());
        }
        try {
            Files.createDirectories(dataDir);
            Files.createDirectories(logFile.getParent());
            // the test class path can exceed the 128 KB limit of one command-line argument: pass it in a file
            Path argFile = dataDir.resolve("java-args");
            Files.writeString(argFile, "-cp\n\"" + testClassPath().replace("\\", "\\\\") + "\"\n", StandardCharsets.UTF_8);
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx512m",
                    // the test class path carries JBoss LogManager as the slf4j backend; it wants to be the JUL manager
                    "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
                    // a few Kafka classes call log4j-api directly; without log4j-core it would complain on every start
                    "-Dlog4j2.loggerContextFactory=org.apache.logging.log4j.simple.SimpleLoggerContextFactory",
                    "-Dlog4j2.simplelogLevel=WARN",
                    "@" + argFile,
                    KafkaBrokerMain.class.getName(),
                    dataDir.resolve("logs").toString(),
                    String.valueOf(port),
                    String.valueOf(controllerPort),
                    String.valueOf(partitions)));
            starts++;
            // a fresh log per KafkaBrokerProcess, appended to across its restarts
            StandardOpenOption mode = starts == 1 ? StandardOpenOption.TRUNCATE_EXISTING : StandardOpenOption.APPEND;
            Files.writeString(logFile, "=== start " + starts + " at " + Instant.now() + " on 127.0.0.1:" + port
                    + System.lineSeparator(), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.WRITE, mode);
            process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("could not start the broker process", e);
        }
        awaitReady();
        return this;
    }

    /** Surefire and failsafe run tests from a manifest-only jar; the real class path is in this property then. */
    private static String testClassPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path");
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        String last = "no answer";
        try (Admin admin = admin()) {
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("the broker exited with code " + process.exitValue()
                            + " before it was ready; log " + logFile + ":\n" + logTail(40));
                }
                try {
                    if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (ExecutionException | TimeoutException e) {
                    last = e.toString();
                }
                sleep(200);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the broker", e);
        }
        String tail = logTail(40);
        kill();
        throw new IllegalStateException("the broker was not ready within " + READY_TIMEOUT + " (last: " + last
                + "); log " + logFile + ":\n" + tail);
    }

    /** SIGKILL: no flush, no controlled shutdown. Waits until the process is gone. */
    public synchronized void kill() {
        if (process != null) {
            ChildProcesses.kill(process, STOP_TIMEOUT, "the broker");
        }
    }

    /** SIGTERM: a controlled shutdown; SIGKILL if it takes longer than 60 s. */
    public synchronized void stop() {
        if (process != null) {
            ChildProcesses.stop(process, STOP_TIMEOUT, "the broker");
        }
    }

    public synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** The exit code of the last broker JVM; 137 after kill(), 143 after stop() on Linux. */
    public synchronized int exitValue() {
        if (process == null) {
            throw new IllegalStateException("never started");
        }
        return process.exitValue();
    }

    /** The same on every start. */
    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    public Path logFile() {
        return logFile;
    }

    /** Creates the topics with the given partition count; topics that already exist are left alone. */
    public void createTopics(int topicPartitions, String... topics) {
        try (Admin admin = admin()) {
            Set<NewTopic> newTopics = Arrays.stream(topics)
                    .map(name -> new NewTopic(name, topicPartitions, (short) 1))
                    .collect(Collectors.toSet());
            for (var future : admin.createTopics(newTopics).values().values()) {
                try {
                    future.get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("could not create topics " + Arrays.toString(topics), e.getCause());
                    }
                } catch (TimeoutException e) {
                    throw new IllegalStateException("creating topics " + Arrays.toString(topics) + " timed out", e);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        }
    }

    private Admin admin() {
        return Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000",
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000"));
    }

    /** The last lines of the broker's log, for failure messages. */
    public String logTail(int lines) {
        try {
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
