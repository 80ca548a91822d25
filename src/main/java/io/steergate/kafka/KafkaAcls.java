package io.steergate.kafka;

import io.steergate.messages.SafeText;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.Resource;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The Kafka ACLs of each principal of a SteerGate deployment (docs/architecture.md 4.6), for a broker that denies what no
 * ACL allows. Only the application's principal may write the internal topics (the job topics steer.jobs.&lt;model&gt;,
 * steer.job-results, steer.retraining and their dead-letter topics): every other principal gets LITERAL ACLs on the
 * few topics it uses.
 * <p>
 * Tenants get LITERAL topic ACLs, not prefixed ones: a prefixed ACL on
 * {@code steer.results.kids} would also match {@code steer.results.kids-co}, and one tenant's name may well be the
 * start of another's. Their consumer groups are PREFIXED with {@code <tenant>.}, which is safe because a tenant
 * has no dot, so no tenant's prefix is the start of another's.
 */
public final class KafkaAcls {

    /** Every topic of SteerGate, internal or not, starts with this. */
    static final String TOPIC_PREFIX = "steer.";
    /** The application's consumer groups (steergate-gateway, steergate-trainer, steergate-workers) start with this. */
    static final String APPLICATION_GROUP_PREFIX = "steergate-";
    /** Tenant principals are named with this prefix so that no tenant (a tenant may be called "steergate") is the application. */
    static final String TENANT_USER_PREFIX = "tenant-";

    /** Names of the application's and the shared client's principals: no spaces, commas or quotes to escape anywhere. */
    private static final Pattern USER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    private KafkaAcls() {}

    /**
     * The application's principal: read, write and describe every topic of SteerGate (requests, results, the
     * per-tenant topics, the internal topics and all dead-letter topics), and its consumer groups; create the job
     * topics ({@link JobTopics}), since only the gateway and the worker know which models are served. The cluster's
     * IDEMPOTENT_WRITE is what brokers before 2.8 demanded of idempotent producers (the outbox relay, the worker);
     * this broker version (4.x) takes WRITE on a topic instead (KIP-679), and the grant gives nothing a principal
     * with topic WRITE does not already have, so it stays for older brokers.
     */
    public static List<AclBinding> application(String user) {
        String principal = principal(checkedUser(user));
        List<AclBinding> acls = new ArrayList<>();
        for (AclOperation op : List.of(AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE)) {
            acls.add(allow(principal, ResourceType.TOPIC, TOPIC_PREFIX, PatternType.PREFIXED, op));
        }
        acls.add(allow(principal, ResourceType.TOPIC, JobTopics.DEFAULT_PREFIX, PatternType.PREFIXED, AclOperation.CREATE));
        for (AclOperation op : List.of(AclOperation.READ, AclOperation.DESCRIBE)) {
            acls.add(allow(principal, ResourceType.GROUP, APPLICATION_GROUP_PREFIX, PatternType.PREFIXED, op));
        }
        acls.add(allow(principal, ResourceType.CLUSTER, Resource.CLUSTER_NAME, PatternType.LITERAL, AclOperation.IDEMPOTENT_WRITE));
        return List.copyOf(acls);
    }

    /**
     * The platform's principal in the {@code shared} mode: writes steer.requests, reads steer.results and the
     * requests' dead letters (with assign() or in consumer groups named {@code <user>.*}).
     */
    public static List<AclBinding> sharedClient(String user) {
        String principal = principal(checkedUser(user));
        return clientAcls(principal, "steer.requests", "steer.results", "steer.requests.dlq", user + ".");
    }

    /**
     * The principal of one tenant in the {@code per-tenant} mode ({@link #tenantUser}): writes its requests topic,
     * reads its results and dead-letter topics (consumer groups named {@code <tenant>.*}), and nothing of any other
     * tenant.
     */
    public static List<AclBinding> tenant(String tenant) {
        return clientAcls(principal(tenantUser(tenant)), TenantTopics.requests(tenant), TenantTopics.results(tenant),
                TenantTopics.requestsDlq(tenant), tenant + ".");
    }

    /** The Kafka user of a tenant: {@code tenant-<tenant>}. */
    public static String tenantUser(String tenant) {
        return TENANT_USER_PREFIX + TenantTopics.checked(tenant);
    }

    /** "User:" + user, the principal Kafka's SASL authentication gives a user. */
    public static String principal(String user) {
        return "User:" + user;
    }

    private static List<AclBinding> clientAcls(String principal, String requests, String results, String dlq, String groupPrefix) {
        return List.of(
                allow(principal, ResourceType.TOPIC, requests, PatternType.LITERAL, AclOperation.WRITE),
                allow(principal, ResourceType.TOPIC, requests, PatternType.LITERAL, AclOperation.DESCRIBE),
                allow(principal, ResourceType.TOPIC, results, PatternType.LITERAL, AclOperation.READ),
                allow(principal, ResourceType.TOPIC, results, PatternType.LITERAL, AclOperation.DESCRIBE),
                allow(principal, ResourceType.TOPIC, dlq, PatternType.LITERAL, AclOperation.READ),
                allow(principal, ResourceType.TOPIC, dlq, PatternType.LITERAL, AclOperation.DESCRIBE),
                allow(principal, ResourceType.GROUP, groupPrefix, PatternType.PREFIXED, AclOperation.READ));
    }

    /**
     * The name of the application's or the shared client's user. Names starting with {@code tenant-} are refused:
     * they belong to tenant principals, and granting one of them more would hand a tenant those rights.
     */
    static String checkedUser(String user) {
        if (user == null || !USER.matcher(user).matches()) {
            throw new IllegalArgumentException("not a Kafka user name (1-64 characters of [A-Za-z0-9._-], starting with a letter or digit): "
                    + (user == null ? null : "'" + SafeText.of(user, 80) + "'"));
        }
        if (user.startsWith(TENANT_USER_PREFIX)) {
            throw new IllegalArgumentException("user names starting with '" + TENANT_USER_PREFIX + "' belong to tenants (steer kafka add-tenant): " + user);
        }
        return user;
    }

    private static AclBinding allow(String principal, ResourceType type, String name, PatternType pattern, AclOperation op) {
        return new AclBinding(new ResourcePattern(type, name, pattern),
                new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW));
    }
}
