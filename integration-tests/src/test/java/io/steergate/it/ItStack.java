package io.steergate.it;

import io.steergate.testing.EmbeddedKafka;
import io.steergate.testing.EmbeddedPostgresServer;
import io.steergate.testing.TopicClient;
import java.util.Map;

/**
 * What every black-box test stands on: a real KRaft broker with the contract's topics, a real PostgreSQL, and a
 * client for the topics. They outlive the application processes, so a test can kill and restart those.
 */
final class ItStack implements AutoCloseable {

    final EmbeddedPostgresServer postgres;
    final EmbeddedKafka kafka;
    final TopicClient topics;

    private ItStack(EmbeddedPostgresServer postgres, EmbeddedKafka kafka) {
        this.postgres = postgres;
        this.kafka = kafka;
        this.topics = new TopicClient(kafka.bootstrapServers());
    }

    static ItStack start() {
        EmbeddedPostgresServer postgres = new EmbeddedPostgresServer().start();
        EmbeddedKafka kafka = new EmbeddedKafka(4).start();
        // no job topic: the gateway creates its model's (JobTopics), as in production (SplitRolesIT checks it)
        kafka.createTopics(4, "steer.requests", "steer.results", "steer.requests.dlq", "steer.jobs.dlq",
                "steer.job-results", "steer.job-tokens", "steer.job-cancels");
        return new ItStack(postgres, kafka);
    }

    /** The packaged application against this stack, not yet started; logs to target/it-logs/{name}.log. */
    AppProcess app(String name) {
        return app(name, Map.of());
    }

    AppProcess app(String name, Map<String, String> extraEnv) {
        return AppProcess.against(kafka, postgres, name, extraEnv);
    }

    /** Stops the applications first (gracefully), then the client, the broker and the database. */
    static void close(ItStack stack, AppProcess... apps) {
        try {
            for (AppProcess app : apps) {
                if (app != null) {
                    app.stop();
                }
            }
        } finally {
            if (stack != null) {
                stack.close();
            }
        }
    }

    @Override
    public void close() {
        try {
            topics.close();
        } finally {
            try {
                kafka.close();
            } finally {
                postgres.close();
            }
        }
    }
}
