package io.steergate.kafka;

import io.steergate.messages.SafeText;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.jboss.logging.Logger;

/**
 * The job topic of each served model (docs/architecture.md 4.1): {@code steergate.jobs.topic-prefix} followed by the
 * model's id, {@code steer.jobs.stories260K} by default. The gateway appends a model's jobs there keyed by the job key,
 * so they spread over all its partitions and N workers of the model share them; a worker subscribes to its model's
 * topic alone, so workers of another model never see them. The gateway's {@code steergate.gateway.model} must be the
 * id the worker's model reports (its checkpoint's name), or the two meet on no topic.
 *
 * <p>A model id must be usable in a topic name: 1-128 characters of {@code [A-Za-z0-9._-]} starting with a letter or
 * digit, and not {@value #RESERVED_MODEL}, whose topic would be the job dead-letter topic {@code steer.jobs.dlq},
 * which all models share. (Kafka also refuses a topic whose name differs from an existing one only by '.' against
 * '_', so models {@code a.b} and {@code a_b} cannot both be served on one cluster.)
 */
@ApplicationScoped
public class JobTopics {

    public static final String DEFAULT_PREFIX = "steer.jobs.";
    /** The ids a model's job topic can be named after. */
    public static final Pattern MODEL = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    static final String RESERVED_MODEL = "dlq";
    /** Kafka's limit on a topic name's length. */
    private static final int MAX_TOPIC_CHARS = 249;
    private static final Pattern TOPIC = Pattern.compile("[A-Za-z0-9._-]{1," + MAX_TOPIC_CHARS + "}");
    /** A start-up that finds the broker away waits this long for each admin call before going on without the topic. */
    private static final int ADMIN_TIMEOUT_MS = 10_000;
    private static final Logger LOG = Logger.getLogger(JobTopics.class);

    private final JobTopicsConfig config;
    private final KafkaClientSettings kafka;

    @Inject
    public JobTopics(JobTopicsConfig config, KafkaClientSettings kafka) {
        this.config = config;
        this.kafka = kafka;
    }

    /** The job topic of this model; IllegalArgumentException naming the model when its id cannot name one. */
    public String topic(String model) {
        return name(config.topicPrefix(), model);
    }

    /** The job topic of {@code model} under {@code prefix}; IllegalArgumentException naming the model or the prefix. */
    public static String name(String prefix, String model) {
        if (model == null || !MODEL.matcher(model).matches()) {
            throw new IllegalArgumentException("model id " + (model == null ? null : "'" + SafeText.of(model, 160) + "'")
                    + " cannot name its job topic: it must be 1-128 characters of [A-Za-z0-9._-] starting with a letter or digit");
        }
        if (model.equals(RESERVED_MODEL)) {
            throw new IllegalArgumentException("model id '" + RESERVED_MODEL + "' cannot name its job topic: "
                    + DEFAULT_PREFIX + RESERVED_MODEL + " is the job dead-letter topic");
        }
        String topic = prefix + model;
        if (!TOPIC.matcher(topic).matches()) {
            throw new IllegalArgumentException("steergate.jobs.topic-prefix '" + SafeText.of(prefix, 300) + "' with model id '"
                    + model + "' is no Kafka topic name (at most " + MAX_TOPIC_CHARS + " characters of [A-Za-z0-9._-])");
        }
        return topic;
    }

    /**
     * Makes sure the model's job topic exists, creating it with {@code steergate.jobs.partitions} partitions when it does
     * not; returns its name. A broker that is away or refuses (no CREATE right: the topic is the operator's to make)
     * is logged on one line and the start goes on: the topic may be made later, and clients wait for it.
     */
    public String ensure(String model) {
        String topic = topic(model);
        if (config.partitions() < 1) {
            throw new IllegalArgumentException("steergate.jobs.partitions must be at least 1, got " + config.partitions());
        }
        Properties settings = kafka.admin(Map.of(
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ADMIN_TIMEOUT_MS,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ADMIN_TIMEOUT_MS / 2,
                AdminClientConfig.CLIENT_ID_CONFIG, "steergate-job-topics"));
        try (KafkaProvisioning provisioning = KafkaProvisioning.connect(settings)) {
            int partitions = provisioning.ensureTopic(topic, config.partitions());
            LOG.infof("job topic %s: %d partitions (at most %d workers of its model generate at once)", topic, partitions,
                    partitions);
        } catch (KafkaProvisioning.Refused e) {
            LOG.warnf("job topic %s not checked or created (%s); jobs wait until it exists", topic, e.getMessage());
        }
        return topic;
    }
}
