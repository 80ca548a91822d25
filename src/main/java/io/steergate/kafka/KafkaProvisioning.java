package io.steergate.kafka;

import io.steergate.messages.SafeText;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.ResourceNotFoundException;
import org.apache.kafka.common.errors.SecurityDisabledException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.resource.ResourcePatternFilter;

/**
 * Provisions a broker for SteerGate through an admin principal: SCRAM users, their ACLs ({@link KafkaAcls}) and
 * topics. Every step may be repeated: an upsert replaces a user's password, a granted ACL is granted again without
 * change, an existing topic is left as it is. A failure is a {@link Refused} whose message is one line saying what
 * the broker refused and why, without passwords.
 */
public final class KafkaProvisioning implements AutoCloseable {

    /** The mechanism SteerGate's clients use (docs/architecture.md 4.6). */
    public static final ScramMechanism MECHANISM = ScramMechanism.SCRAM_SHA_512;
    /** PBKDF2 iterations of stored SCRAM credentials; 4096 is Kafka's minimum, more slows down a stolen-hash attack. */
    static final int ITERATIONS = 8192;
    /** How long one admin call may take before it counts as failed (the broker is away, or ignores us). */
    private static final long CALL_SECONDS = 30;

    /** What the broker refused, or that it could not be reached; the message is one line for an operator. */
    public static final class Refused extends RuntimeException {
        Refused(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final Admin admin;

    public KafkaProvisioning(Admin admin) {
        this.admin = admin;
    }

    /**
     * An admin client with these settings (bootstrap.servers, security.protocol, sasl.*, ssl.*). Unless the settings
     * say otherwise, calls give up after {@value #CALL_SECONDS} s instead of Kafka's default minute.
     */
    public static KafkaProvisioning connect(Properties adminSettings) {
        Properties props = new Properties();
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(TimeUnit.SECONDS.toMillis(CALL_SECONDS)));
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(TimeUnit.SECONDS.toMillis(CALL_SECONDS) / 2));
        props.putAll(adminSettings);
        try {
            return new KafkaProvisioning(Admin.create(props));
        } catch (RuntimeException e) {
            // Kafka wraps the reason (a bad or missing setting) in "Failed to create new KafkaAdminClient"
            Throwable reason = e;
            while (reason.getCause() != null) {
                reason = reason.getCause();
            }
            throw new Refused("cannot create a Kafka admin client from these settings: " + explain(reason), e);
        }
    }

    /**
     * Creates the SCRAM-SHA-512 user, or replaces its password, and returns once the broker answering us knows the
     * credential (it reaches brokers through the metadata log a moment after the controller stored it).
     */
    public void upsertScramUser(String user, String password) {
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("empty password for Kafka user " + user);
        }
        String step = "create or update the SCRAM user " + user;
        await(admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
                new ScramCredentialInfo(MECHANISM, ITERATIONS), password))).all(), step);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CALL_SECONDS);
        while (!knows(user)) {
            if (System.nanoTime() > deadline) {
                throw new Refused("the broker stored the SCRAM user " + user + " but does not show it after " + CALL_SECONDS + " s", null);
            }
            sleep(100);
        }
    }

    /**
     * Grants the ACLs (those already granted stay as they are) and returns once the broker answering us enforces them,
     * so a client started next is not refused while they travel through the metadata log.
     */
    public void grant(List<AclBinding> acls) {
        Map<String, List<AclBinding>> byPrincipal = acls.stream().collect(Collectors.groupingBy(acl -> acl.entry().principal()));
        String principals = String.join(", ", byPrincipal.keySet());
        await(admin.createAcls(acls).all(), "grant the ACLs of " + principals);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CALL_SECONDS);
        for (Map.Entry<String, List<AclBinding>> granted : byPrincipal.entrySet()) {
            while (!granted(granted.getKey()).containsAll(granted.getValue())) {
                if (System.nanoTime() > deadline) {
                    throw new Refused("the broker stored the ACLs of " + granted.getKey() + " but does not show them after " + CALL_SECONDS + " s", null);
                }
                sleep(100);
            }
        }
    }

    /** The ACLs the broker holds for the principal. */
    public Collection<AclBinding> granted(String principal) {
        AclBindingFilter filter = new AclBindingFilter(ResourcePatternFilter.ANY,
                new AccessControlEntryFilter(principal, null, AclOperation.ANY, AclPermissionType.ANY));
        return await(admin.describeAcls(filter).values(), "list the ACLs of " + principal);
    }

    /** Creates the topics that do not exist yet; existing ones keep their partitions and settings. */
    public void createTopics(Collection<String> names, int partitions, short replicationFactor) {
        Map<String, KafkaFuture<Void>> created = admin.createTopics(names.stream()
                .map(name -> new NewTopic(name, partitions, replicationFactor)).toList()).values();
        for (Map.Entry<String, KafkaFuture<Void>> topic : created.entrySet()) {
            try {
                await(topic.getValue(), "create the topic " + topic.getKey());
            } catch (Refused e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
        }
    }

    /**
     * Creates the topic with this many partitions and the broker's default replication factor unless it exists;
     * returns the partitions the topic has (an existing topic keeps its own). Needs DESCRIBE on the topic, and
     * CREATE to create it.
     */
    public int ensureTopic(String name, int partitions) {
        try {
            return await(admin.describeTopics(List.of(name)).topicNameValues().get(name), "describe the topic " + name)
                    .partitions().size();
        } catch (Refused e) {
            if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                throw e;
            }
        }
        try {
            await(admin.createTopics(List.of(new NewTopic(name, Optional.of(partitions), Optional.empty()))).all(),
                    "create the topic " + name);
        } catch (Refused e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw e;
            }
        }
        return partitions;
    }

    private boolean knows(String user) {
        try {
            UserScramCredentialsDescription description = await(admin.describeUserScramCredentials(List.of(user)).description(user),
                    "describe the SCRAM user " + user);
            return description.credentialInfos().stream().anyMatch(info -> info.mechanism() == MECHANISM);
        } catch (Refused e) {
            if (e.getCause() instanceof ResourceNotFoundException) {
                return false;
            }
            throw e;
        }
    }

    private static <T> T await(KafkaFuture<T> future, String step) {
        try {
            return future.get(CALL_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Refused("interrupted while trying to " + step, e);
        } catch (TimeoutException e) {
            throw new Refused("could not " + step + ": no answer from the broker within " + CALL_SECONDS + " s (bootstrap.servers, security.protocol?)", e);
        } catch (ExecutionException e) {
            throw new Refused("could not " + step + ": " + explain(e.getCause()), e.getCause());
        }
    }

    /** Why the broker refused, in words an operator can act on. */
    static String explain(Throwable cause) {
        String detail = cause.getClass().getSimpleName()
                + (cause.getMessage() == null ? "" : ": " + SafeText.of(cause.getMessage().strip(), SafeText.REASON_CHARS));
        if (cause instanceof AuthenticationException) {
            return "the broker did not accept the admin's credentials (" + detail + ")";
        }
        if (cause instanceof AuthorizationException) {
            // the broker's message is a dump of the request; the exception's name says which right is missing
            return "the admin principal lacks the rights (a super user, or ALTER on the cluster and CREATE on topics) ("
                    + cause.getClass().getSimpleName() + ")";
        }
        if (cause instanceof SecurityDisabledException) {
            return "the broker has no authorizer, so it takes no ACLs (set authorizer.class.name) (" + detail + ")";
        }
        if (cause instanceof UnsupportedVersionException) {
            return "the broker is too old for this request (" + detail + ")";
        }
        if (cause instanceof org.apache.kafka.common.errors.TimeoutException) {
            return "no answer from the broker in time (bootstrap.servers, security.protocol?) (" + detail + ")";
        }
        return detail;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Refused("interrupted while waiting for the broker", e);
        }
    }

    @Override
    public void close() {
        admin.close();
    }
}
