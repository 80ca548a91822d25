package io.steergate.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.testing.EmbeddedKafka;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ACLs of {@link KafkaAcls}, granted with {@link KafkaProvisioning}, on a real broker that denies what no ACL
 * allows: each principal can do its part and is refused the rest, including the tenant-name prefix pitfall.
 */
class KafkaAclsTest {

    static final List<String> INTERNAL = List.of("steer.jobs", "steer.jobs.dlq", "steer.job-results", "steer.job-results.dlq",
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
        for (String topic : List.of("steer.jobs", "steer.job-results", "steer.requests", "steer.results.acme")) {
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
        assertInstanceOf(TopicAuthorizationException.class, readRefusal(acme, "steer.jobs", "acme.reader"));
        assertInstanceOf(GroupAuthorizationException.class, readRefusal(acme, "steer.results.acme", "kids-co.reader"));
        for (String topic : List.of("steer.jobs", "steer.job-results", "steer.retraining", "steer.requests.kids-co", "steer.requests",
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
        assertInstanceOf(TopicAuthorizationException.class, readRefusal(client, "steer.jobs", "platform.reader"));
        assertInstanceOf(TopicAuthorizationException.class, readRefusal(client, "steer.results.acme", "platform.reader"));
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

    /** Sends one record (an idempotent producer, the clients' default) and returns its key. */
    static String write(Map<String, Object> settings, String topic) throws Exception {
        String key = UUID.randomUUID().toString();
        try (KafkaProducer<String, String> producer = producer(settings)) {
            producer.send(new ProducerRecord<>(topic, key, "{}")).get(30, TimeUnit.SECONDS);
        }
        return key;
    }

    static Throwable writeRefusal(Map<String, Object> settings, String topic) {
        try (KafkaProducer<String, String> producer = producer(settings)) {
            ExecutionException refused = assertThrows(ExecutionException.class,
                    () -> producer.send(new ProducerRecord<>(topic, "k", "{}")).get(30, TimeUnit.SECONDS), topic);
            return refused.getCause();
        }
    }

    static KafkaProducer<String, String> producer(Map<String, Object> settings) {
        Map<String, Object> props = new HashMap<>(settings);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "20000");
        return new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
    }

    /** Reads the topic from the beginning in the consumer group until the key shows up. */
    static String readKey(Map<String, Object> settings, String topic, String group, String key) {
        try (KafkaConsumer<String, String> consumer = consumer(settings, group)) {
            consumer.subscribe(List.of(topic));
            return awaitKey(consumer, key);
        }
    }

    /** Reads partition 0 of the topic from the beginning without a consumer group (as deploy/client does). */
    static String readKeyAssigned(Map<String, Object> settings, String topic, String key) {
        try (KafkaConsumer<String, String> consumer = consumer(settings, null)) {
            consumer.assign(List.of(new TopicPartition(topic, 0)));
            consumer.seekToBeginning(consumer.assignment());
            return awaitKey(consumer, key);
        }
    }

    static Throwable readRefusal(Map<String, Object> settings, String topic, String group) {
        return assertThrows(RuntimeException.class, () -> readKey(settings, topic, group, "never-written"), topic + " as " + group);
    }

    private static String awaitKey(KafkaConsumer<String, String> consumer, String key) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                if (key.equals(record.key())) {
                    return record.key();
                }
            }
        }
        throw new AssertionError("no record with key " + key + " within 30 s");
    }

    private static KafkaConsumer<String, String> consumer(Map<String, Object> settings, String group) {
        Map<String, Object> props = new HashMap<>(settings);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        if (group != null) {
            props.put(ConsumerConfig.GROUP_ID_CONFIG, group + "-" + UUID.randomUUID());
        }
        return new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer());
    }
}
