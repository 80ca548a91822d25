package io.steergate.gateway;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.time.Duration;

/** Gateway settings (application.properties, section "gateway"). */
@ConfigMapping(prefix = "steergate.gateway")
public interface GatewayConfig {

    /** Name of the model the workers serve; jobs are keyed by it so one model's jobs share partitions. */
    @WithDefault("stories260K")
    String model();

    /** Topic for REJECTED/COMPLETED/FAILED results. */
    @WithName("results-topic")
    @WithDefault("steer.results")
    String resultsTopic();

    @WithName("dlq-topic")
    @WithDefault("steer.requests.dlq")
    String dlqTopic();

    @WithName("jobs-topic")
    @WithDefault("steer.jobs")
    String jobsTopic();

    /** How long POST /v1/generations waits for the outcome before answering 504. */
    @WithName("http-wait")
    @WithDefault("PT60S")
    Duration httpWait();
}
