package io.steergate.kafka;

import io.steergate.messages.Identifiers;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The topic names of the {@code per-tenant} Kafka mode (docs/architecture.md 4.1): each tenant writes its requests to
 * {@code steer.requests.<tenant>} and reads its results on {@code steer.results.<tenant>} and its unreadable
 * messages on {@code steer.requests.<tenant>.dlq}. A tenant never contains a dot, so no tenant's topic name is
 * another's dead-letter topic, and a requests topic names exactly one tenant.
 */
public final class TenantTopics {

    static final String REQUESTS_PREFIX = "steer.requests.";
    static final String RESULTS_PREFIX = "steer.results.";
    static final String DLQ_SUFFIX = ".dlq";

    /**
     * The requests topics of every tenant and nothing else (Kafka matches a subscription pattern against the whole
     * name): the dead-letter topics do not match, since a tenant has no dot.
     */
    public static final Pattern REQUESTS_PATTERN =
            Pattern.compile(Pattern.quote(REQUESTS_PREFIX) + "(" + Identifiers.TENANT.pattern() + ")");

    private TenantTopics() {}

    public static String requests(String tenant) {
        return REQUESTS_PREFIX + checked(tenant);
    }

    public static String results(String tenant) {
        return RESULTS_PREFIX + checked(tenant);
    }

    public static String requestsDlq(String tenant) {
        return requests(tenant) + DLQ_SUFFIX;
    }

    /** The three topics of a tenant: requests, results, dead letters. */
    public static List<String> of(String tenant) {
        return List.of(requests(tenant), results(tenant), requestsDlq(tenant));
    }

    /** The tenant whose requests topic this is; empty for any other topic. */
    public static Optional<String> tenantOfRequests(String topic) {
        Matcher m = REQUESTS_PATTERN.matcher(topic);
        return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** The tenant itself, or IllegalArgumentException naming the allowed shape. */
    static String checked(String tenant) {
        if (tenant == null || !Identifiers.TENANT.matcher(tenant).matches()) {
            throw new IllegalArgumentException("not a tenant (1-64 characters of [a-z0-9-]): " + tenant);
        }
        return tenant;
    }
}
