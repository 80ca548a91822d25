package io.steergate.gateway;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.time.Duration;

/** Gateway settings (application.properties, section "gateway"). */
@ConfigMapping(prefix = "steergate.gateway")
public interface GatewayConfig {

    /**
     * Id of the model the workers serve, as the worker's model reports it: jobs go to this model's job topic
     * ({@link io.steergate.kafka.JobTopics}).
     */
    @WithDefault("stories260K")
    String model();

    /** Topic for REJECTED/COMPLETED/FAILED results. */
    @WithName("results-topic")
    @WithDefault("steer.results")
    String resultsTopic();

    @WithName("dlq-topic")
    @WithDefault("steer.requests.dlq")
    String dlqTopic();

    /** Where job results that cannot be read or stored go, with the reason in headers. */
    @WithName("job-results-dlq-topic")
    @WithDefault("steer.job-results.dlq")
    String jobResultsDlqTopic();

    /** Where workers publish streamed jobs' text piece by piece; every gateway reads it ({@link io.steergate.messages.JobTokens}). */
    @WithName("job-tokens-topic")
    @WithDefault("steer.job-tokens")
    String jobTokensTopic();

    /** Where the gateway asks workers to stop a streamed job whose client went away ({@link io.steergate.messages.JobCancel}). */
    @WithName("job-cancels-topic")
    @WithDefault("steer.job-cancels")
    String jobCancelsTopic();

    /** An accepted request still PENDING this long after acceptance ends FAILED with TIMED_OUT. */
    @WithName("request-deadline")
    @WithDefault("PT10M")
    Duration requestDeadline();

    /** How often the gateway looks for requests past the deadline. */
    @WithName("deadline-sweep")
    @WithDefault("PT5S")
    Duration deadlineSweep();

    /** How long POST /v1/generations waits out an unavailable database (or start-up) before answering 503. */
    @WithName("unavailable-wait")
    @WithDefault("PT5S")
    Duration unavailableWait();

    /** Largest result published; the broker's message.max.bytes (1 MB by default) must allow it. */
    @WithName("max-result-bytes")
    @WithDefault("1000000")
    int maxResultBytes();

    /** How long POST /v1/generations waits for the outcome before answering 504. */
    @WithName("http-wait")
    @WithDefault("PT60S")
    Duration httpWait();

    /**
     * How many HTTP callers of one tenant may wait for outcomes at once in this instance (synchronous generations,
     * completions, streams). Each waiting caller holds a worker thread for up to http-wait; without a bound one tenant
     * (repeating the id of a slow request costs no quota) could take the pool every tenant's requests need.
     */
    @WithName("max-waiting-per-tenant")
    @WithDefault("64")
    int maxWaitingPerTenant();

    /**
     * Whether the instance that stores an outcome tells the other gateway instances at once (PostgreSQL NOTIFY, see
     * {@link OutcomeNotices}); off where a pooler between the gateway and PostgreSQL cannot hold a LISTEN.
     */
    @WithName("outcome-notices")
    @WithDefault("true")
    boolean outcomeNotices();

    /**
     * How often a waiting caller re-reads its request's row: how an outcome stored by another instance is found when
     * its notice was lost (the listener reconnecting) or notices are off.
     */
    @WithName("outcome-poll")
    @WithDefault("PT0.25S")
    Duration outcomePoll();
}
