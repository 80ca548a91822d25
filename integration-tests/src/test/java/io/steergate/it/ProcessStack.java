package io.steergate.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import io.steergate.testing.EmbeddedPostgresServer;
import io.steergate.testing.KafkaBrokerProcess;
import io.steergate.testing.TopicClient;
import io.steergate.testing.TestModel;

/**
 * What the fault suite stands on: the broker and PostgreSQL each as a process of its own, on fixed ports and with
 * their data under one folder, so either can be killed or stopped and started again with the same data while the
 * applications keep their configuration. PostgreSQL is durable (fsync and synchronous commit on).
 */
final class ProcessStack implements AutoCloseable {

    static final String[] TOPICS = {
        "steer.requests", "steer.results", "steer.requests.dlq", TestModel.JOBS_TOPIC, "steer.job-results", "steer.retraining",
        "steer.job-tokens", "steer.job-cancels"
    };

    /** The topics between a request and its result, each read by a consumer group of the application. */
    static final List<String> PIPELINE_TOPICS = List.of("steer.requests", TestModel.JOBS_TOPIC, "steer.job-results");

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

    /**
     * Records on the pipeline's topics (requests, jobs, job results) that a consumer group has not committed yet:
     * what earlier application processes left for the next ones. A group that has committed on a topic is counted
     * on every partition of it (uncommitted partitions from the start: the application reads from the earliest).
     */
    long pipelineBacklog() {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            Map<String, TopicDescription> topics = admin.describeTopics(PIPELINE_TOPICS).allTopicNames().get(30, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            topics.values().forEach(topic -> topic.partitions().forEach(partition ->
                    latest.put(new TopicPartition(topic.name(), partition.partition()), OffsetSpec.latest())));
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends =
                    admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS);
            long backlog = 0;
            for (GroupListing group : admin.listGroups(ListGroupsOptions.forConsumerGroups()).all().get(30, TimeUnit.SECONDS)) {
                Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group.groupId())
                        .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
                Set<String> consumed = new HashSet<>();
                committed.keySet().forEach(partition -> consumed.add(partition.topic()));
                for (var end : ends.entrySet()) {
                    if (consumed.contains(end.getKey().topic())) {
                        OffsetAndMetadata offset = committed.get(end.getKey());
                        backlog += end.getValue().offset() - (offset == null ? 0 : offset.offset());
                    }
                }
            }
            return backlog;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading consumer lag", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not read consumer lag", e);
        }
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
