package io.steergate.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

import io.steergate.testing.EmbeddedPostgresServer;
import io.steergate.testing.KafkaBrokerProcess;
import io.steergate.testing.TopicClient;

/**
 * What the fault suite stands on: the broker and PostgreSQL each as a process of its own, on fixed ports and with
 * their data under one folder, so either can be killed or stopped and started again with the same data while the
 * applications keep their configuration. PostgreSQL is durable (fsync and synchronous commit on).
 */
final class ProcessStack implements AutoCloseable {

    static final String[] TOPICS = {
        "steer.requests", "steer.results", "steer.requests.dlq", "steer.jobs", "steer.job-results", "steer.retraining"
    };

    final EmbeddedPostgresServer postgres;
    final KafkaBrokerProcess broker;
    final TopicClient topics;

    private ProcessStack(EmbeddedPostgresServer postgres, KafkaBrokerProcess broker) {
        this.postgres = postgres;
        this.broker = broker;
        this.topics = new TopicClient(broker.bootstrapServers());
    }

    /** Starts both on empty data under {@code dataDir} (emptied first); logs go to {@code logDir}. */
    static ProcessStack start(Path dataDir, Path logDir) {
        deleteRecursively(dataDir);
        EmbeddedPostgresServer postgres = new EmbeddedPostgresServer(dataDir.resolve("postgres")).start();
        KafkaBrokerProcess broker;
        try {
            broker = new KafkaBrokerProcess(dataDir.resolve("kafka"), logDir.resolve("fault-suite-broker.log"), 4).start();
        } catch (RuntimeException e) {
            postgres.close();
            throw e;
        }
        broker.createTopics(4, TOPICS);
        return new ProcessStack(postgres, broker);
    }

    /** The packaged application against this stack, not yet started; logs to target/it-logs/{name}.log. */
    AppProcess app(String name, Map<String, String> extraEnv) {
        return AppProcess.against(broker.bootstrapServers(), postgres, name, extraEnv);
    }

    /** Starts whichever of the broker and PostgreSQL is down (after a scenario that failed half-way). */
    void ensureRunning() {
        if (!postgres.isRunning()) {
            postgres.start();
        }
        if (!broker.isAlive()) {
            broker.start();
        }
    }

    @Override
    public void close() {
        try {
            topics.close();
        } finally {
            try {
                broker.close();
            } finally {
                postgres.close();
            }
        }
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        } catch (IOException e) {
            throw new IllegalStateException("could not empty " + dir, e);
        }
    }
}
