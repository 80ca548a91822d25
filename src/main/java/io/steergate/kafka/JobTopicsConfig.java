package io.steergate.kafka;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/** The per-model job topics (application.properties, section "jobs"): {@link JobTopics}. */
@ConfigMapping(prefix = "steergate.jobs")
public interface JobTopicsConfig {

    /** A model's jobs go to this prefix followed by the model's id ({@link JobTopics#name}). */
    @WithName("topic-prefix")
    @WithDefault(JobTopics.DEFAULT_PREFIX)
    String topicPrefix();

    /**
     * Partitions of a job topic the application creates (one that exists keeps its own): the most workers of one
     * model that can generate at once.
     */
    @WithDefault("4")
    int partitions();
}
