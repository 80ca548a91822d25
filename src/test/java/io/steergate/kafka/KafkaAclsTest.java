package io.steergate.kafka;

import static io.steergate.testing.KafkaPrincipals.readKey;
import static io.steergate.testing.KafkaPrincipals.readKeyAssigned;
import static io.steergate.testing.KafkaPrincipals.readRefusal;
import static io.steergate.testing.KafkaPrincipals.write;
import static io.steergate.testing.KafkaPrincipals.writeRefusal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.testing.EmbeddedKafka;
import io.steergate.testing.TestModel;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ACLs of {@link KafkaAcls}, granted with {@link KafkaProvisioning}, on a real broker that denies what no ACL
 * allows: each principal can do its part and is refused the rest, including the tenant-name prefix pitfall.
 */
class KafkaAclsTest {

    static final List<String> INTERNAL = List.of(TestModel.JOBS_TOPIC, "steer.jobs.dlq", "steer.job-results", "steer.job-results.dlq",
            "steer.retraining", "steer.retraining.dlq");
    static final List<String> SHARED = List.of("steer.requests", "steer.results", "steer.requests.dlq");

    static EmbeddedKafka kafka;
    static Map<String, Object> app;
    static Map<String, Object> client;
    static Map<String, Object> acme;
    static Map<String, Object> kids;

    @BeforeAll
    static void provision() {
        kafka = new EmbeddedKafka(1).withAcls().start();
        List<String> topics = new ArrayList<>(INTERNAL);
        topics.addAll(SHARED);
        for (String tenant : List.of("acme", "kids", "kids-co")) {
            topics.addAll(TenantTopics.of(tenant));
        }
        try (KafkaProvisioning admin = provisioning()) {
            admin.createTopics(topics, 1, (short) 1);
            app = user(admin, "steergate-app", KafkaAcls.application("steergate-app"));
            client = user(admin, "platform", KafkaAcls.sharedClient("platform"));
            acme = user(admin, KafkaAcls.tenantUser("acme"), KafkaAcls.tenant("acme"));
            kids = user(admin, KafkaAcls.tenantUser("kids"), KafkaAcls.tenant("kids"));
        }
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    static KafkaProvisioning provisioning() {
        Properties settings = new Properties();
        settings.putAll(kafka.adminSettings());
        return KafkaProvisioning.connect(settings);
    }

    static Map<String, Object> user(KafkaProvisioning admin, String user, List<org.apache.kafka.common.acl.AclBinding> acls) {
        String password = UUID.randomUUID().toString();
        admin.upsertScramUser(user, password);
        admin.grant(acls);
        return kafka.scramClientSettings(user, password);
    }

    @Test
    void theApplicationProducesAndConsumesInternalSharedAndTenantTopics() throws Exception {
        for (String topic : List.of(TestModel.JOBS_TOPIC, "steer.job-results", "steer.requests", "steer.results.acme")) {
            String key = write(app, topic);
            assertEquals(key, readKey(app, topic, "steergate-x", key), topic);
        }
    }

    @Test
    void aTenantWritesItsRequestsAndReadsItsResultsInItsOwnGroups() throws Exception {
        write(acme, "steer.requests.acme");
        String result = write(app, "steer.results.acme");
        assertEquals(result, readKey(acme, "steer.results.acme", "acme.reader", result));
        String deadLetter = write(app, "steer.requests.acme.dlq");
        assertEquals(deadLetter, readKey(acme, "steer.requests.acme.dlq", "acme.reader", deadLetter));
    }

    @Test
    void aTenantIsRefusedOtherTenantsTopicsTheSharedResultsAndEveryInternalTopic() {
        assertInstanceOf(TopicAuthorizationException.class, readRefusal(acme, "steer.results.kids-co", "acme.reader"));
        assertInstanceOf(TopicAuthorizationException.class, readRefusal(acme, "steer.results", "acme.reader"));
        assertInstanceOf(TopicAuthorizationException.class, readRefusal(acme, TestModel.JOBS_TOPIC, "acme.reader"));
        assertInstanceOf(GroupAuthorizationException.class, readRefusal(acme, "steer.results.acme", "kids-co.reader"));
        for (String topic : List.of(TestModel.JOBS_TOPIC, "steer.job-results", "steer.retraining", "steer.requests.kids-co", "steer.requests",
                "steer.results.acme")) {
            assertInstanceOf(TopicAuthorizationException.class, writeRefusal(acme, topic), topic);
        }
    }

    @Test
    void aTenantWhoseNameStartsAnotherTenantsNameCannotReadThatTenantsResults() {
        // "kids" is a prefix of "kids-co": a prefixed ACL on steer.results.kids would have let this through
        assertInstanceOf(TopicAuthorizationException.class, readRefusal(kids, "steer.results.kids-co", "kids.reader"));
        assertInstanceOf(TopicAuthorizationException.class, writeRefusal(kids, "steer.requests.kids-co"));
    }

    @Test
    void theSharedClientWritesRequestsAndReadsResultsButNoInternalTopic() throws Exception {
        write(client, "steer.requests");
        String result = write(app, "steer.results");
        assertEquals(result, readKeyAssigned(client, "steer.results", result));
        assertEquals(result, readKey(client, "steer.results", "platform.reader", result));
        assertInstanceOf(TopicAuthorizationException.class, writeRefusal(client, "steer.job-results"));
        assertInstanceOf(TopicAuthorizationException.class, writeRefusal(client, "steer.results"));
        assertInstanceOf(TopicAuthorizationException.class, readRefusal(client, TestModel.JOBS_TOPIC, "platform.reader"));
        assertInstanceOf(TopicAuthorizationException.class, readRefusal(client, "steer.results.acme", "platform.reader"));
    }

    @Test
    void theApplicationCreatesAServedModelsJobTopicWithTheConfiguredPartitionsButNoOtherTopic() throws Exception {
        assertEquals("steer.jobs.other-model", jobTopics(app, 3).ensure("other-model"));
        assertEquals(3, partitions("steer.jobs.other-model"));
        jobTopics(app, 5).ensure("other-model");
        assertEquals(3, partitions("steer.jobs.other-model"), "an existing job topic keeps its partitions");
        String key = write(app, "steer.jobs.other-model");
        assertEquals(key, readKey(app, "steer.jobs.other-model", "steergate-x", key));

        Properties asApp = new Properties();
        asApp.putAll(app);
        try (KafkaProvisioning provisioning = KafkaProvisioning.connect(asApp)) {
            KafkaProvisioning.Refused refused = assertThrows(KafkaProvisioning.Refused.class,
                    () -> provisioning.ensureTopic("steer.not-a-job-topic", 1));
            assertInstanceOf(TopicAuthorizationException.class, refused.getCause(), refused.getMessage());
        }
        // a principal without the right: the start goes on (logged), and no topic appears
        assertEquals("steer.jobs.tenant-made", jobTopics(acme, 2).ensure("tenant-made"));
        try (Admin admin = Admin.create(kafka.adminSettings())) {
            Set<String> names = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            assertTrue(names.contains("steer.jobs.other-model") && !names.contains("steer.jobs.tenant-made")
                    && !names.contains("steer.not-a-job-topic"), names.toString());
        }
    }

    static JobTopics jobTopics(Map<String, Object> principal, int partitions) {
        JobTopicsConfig config = new JobTopicsConfig() {
            @Override
            public String topicPrefix() {
                return JobTopics.DEFAULT_PREFIX;
            }

            @Override
            public int partitions() {
                return partitions;
            }
        };
        return new JobTopics(config, new KafkaClientSettings(principal));
    }

    static int partitions(String topic) throws Exception {
        try (Admin admin = Admin.create(kafka.adminSettings())) {
            return admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic).partitions().size();
        }
    }

    @Test
    void aUserWithAWrongPasswordIsRefused() {
        try (Admin wrong = Admin.create(kafka.scramClientSettings(KafkaAcls.tenantUser("acme"), "not-the-password"))) {
            ExecutionException refused = assertThrows(ExecutionException.class,
                    () -> wrong.listTopics().names().get(30, TimeUnit.SECONDS));
            assertInstanceOf(SaslAuthenticationException.class, refused.getCause());
        }
    }

    @Test
    void provisioningTwiceChangesNothingAndTheBrokerHoldsExactlyTheGrantedAcls() {
        try (KafkaProvisioning admin = provisioning()) {
            admin.createTopics(TenantTopics.of("acme"), 1, (short) 1);
            admin.grant(KafkaAcls.tenant("acme"));
            admin.grant(KafkaAcls.tenant("acme"));
            assertEquals(new HashSet<>(KafkaAcls.tenant("acme")), new HashSet<>(admin.granted("User:tenant-acme")));
            assertEquals(new HashSet<>(KafkaAcls.application("steergate-app")), new HashSet<>(admin.granted("User:steergate-app")));
        }
    }

    @Test
    void aPrincipalWithoutAdminRightsIsRefusedInOneLineSayingSo() {
        Properties settings = new Properties();
        settings.putAll(acme);
        try (KafkaProvisioning notAdmin = KafkaProvisioning.connect(settings)) {
            KafkaProvisioning.Refused refused = assertThrows(KafkaProvisioning.Refused.class,
                    () -> notAdmin.upsertScramUser("someone", "secret-password"));
            assertTrue(refused.getMessage().contains("lacks the rights"), refused.getMessage());
            assertTrue(!refused.getMessage().contains("\n") && !refused.getMessage().contains("secret-password"), refused.getMessage());
            refused = assertThrows(KafkaProvisioning.Refused.class, () -> notAdmin.grant(KafkaAcls.tenant("kids-co")));
            assertTrue(refused.getMessage().contains("lacks the rights"), refused.getMessage());
        }
    }

    @Test
    void tenantPrincipalsAreNamespacedSoNoTenantIsTheApplication() {
        assertEquals("tenant-steergate", KafkaAcls.tenantUser("steergate"));
        assertThrows(IllegalArgumentException.class, () -> KafkaAcls.application("tenant-acme"));
        assertThrows(IllegalArgumentException.class, () -> KafkaAcls.sharedClient("tenant-acme"));
        assertThrows(IllegalArgumentException.class, () -> KafkaAcls.tenant("kids.co"));
        assertThrows(IllegalArgumentException.class, () -> KafkaAcls.application("a\"b"));
    }
}
