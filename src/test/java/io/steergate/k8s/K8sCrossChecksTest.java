package io.steergate.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.steergate.kafka.KafkaAcls;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.Resource;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each overlay, rendered ({@link Kustomization}), against the application: environment variables are properties it
 * reads, probes hit its health paths on its management port, topics are its topics, Kafka users hold exactly the ACLs
 * of {@link KafkaAcls}, database roles are its roles, images are the build's (deploy/images), every Secret referenced exists (made by
 * an operator, rendered, or templated in k8s/secrets), selectors select pods, and prod is highly available.
 */
class K8sCrossChecksTest {

    /** The images the build makes (names, roles, environment: the one place for them, read here). */
    static final Path IMAGES = Path.of("deploy/images/images.properties");
    /** The image build's constants (another module): its user, writable directories and the model it holds. */
    static final Path IMAGE_BUILD = Path.of("deploy/images/src/main/java/io/steergate/images/ImageBuild.java");
    /** Kafka's bytes around a record's value (deploy/run's broker adds the same to steergate.limits.message-bytes). */
    static final int RECORD_OVERHEAD_BYTES = 16 * 1024;
    /** The KafkaTopic of the stories260K model's jobs (k8s/base/config/served-model.yaml names its topic). */
    static final String JOBS_TOPIC_RESOURCE = "steer-jobs-stories260k";
    static final String SERVED_MODEL_CONFIG = "steergate-served-model";

    private static final AppConfiguration CONFIG = AppConfiguration.load();
    private static final Map<String, Kustomization.Rendered> RENDERED = new ConcurrentHashMap<>();

    private static Kustomization.Rendered rendered(String overlay) {
        return RENDERED.computeIfAbsent(overlay, o -> Kustomization.render(Manifests.overlay(o)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void everyRenderedResourceIsAKindItsApiServes(String overlay) {
        for (ObjectNode r : rendered(overlay).resources()) {
            K8sManifestsTest.checkDocument(r, overlay + " " + r.path("kind").asText() + " " + Manifests.name(r));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void environmentVariablesAreConfigurationPropertiesOfTheApplication(String overlay) {
        List<String> unknown = new ArrayList<>();
        for (ObjectNode deployment : rendered(overlay).ofKind("Deployment")) {
            for (ObjectNode container : Manifests.containers(deployment)) {
                for (String env : env(rendered(overlay), container).keySet()) {
                    if (!AppConfiguration.JVM_ENVIRONMENT.contains(env) && CONFIG.propertyOf(env).isEmpty()) {
                        unknown.add(Manifests.name(deployment) + ": " + env);
                    }
                }
            }
        }
        assertEquals(List.of(), unknown, "environment variables the application reads as no property");
    }

    @Test
    void theEnvironmentMappingRefusesWhatTheApplicationDoesNotRead() {
        assertEquals(Optional.of("steergate.worker.batch-token-budget"), CONFIG.propertyOf("STEERGATE_WORKER_BATCH_TOKEN_BUDGET"));
        assertEquals(Optional.of("steergate.quotas.tenants.*.requests-per-minute"),
                CONFIG.propertyOf("STEERGATE_QUOTAS_TENANTS_ACME_REQUESTS_PER_MINUTE"));
        assertEquals(Optional.of("kafka.sasl.jaas.config"), CONFIG.propertyOf("KAFKA_SASL_JAAS_CONFIG"));
        assertEquals(Optional.of("quarkus.management.host"), CONFIG.propertyOf("QUARKUS_MANAGEMENT_HOST"));
        assertEquals(Optional.of("mp.jwt.verify.issuer"), CONFIG.propertyOf("MP_JWT_VERIFY_ISSUER"));
        assertEquals(Optional.empty(), CONFIG.propertyOf("STEERGATE_WORKER_BATCH_TOKENS"));
        assertEquals(Optional.empty(), CONFIG.propertyOf("KAFKA_SASL_JASS_CONFIG"));
        assertEquals(Optional.empty(), CONFIG.propertyOf("STEERGATE_MODEL_PATH"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void eachDeploymentPlaysTheRoleOfItsComponentAndOnlyTheGatewayMigrates(String overlay) {
        for (ObjectNode deployment : rendered(overlay).ofKind("Deployment")) {
            String component = deployment.path("spec").path("template").path("metadata").path("labels")
                    .path("app.kubernetes.io/component").asText();
            assertTrue(AppConfiguration.roles().contains(component), Manifests.name(deployment) + " is a gateway, worker or trainer");
            Map<String, String> env = env(rendered(overlay), Manifests.containers(deployment).get(0));
            for (String role : AppConfiguration.roles()) {
                assertEquals(String.valueOf(role.equals(component)), env.get("STEERGATE_ROLE_" + role.toUpperCase(Locale.ROOT)),
                        Manifests.name(deployment) + ": role " + role + " (every role is said, the default is true)");
            }
            boolean gateway = component.equals("gateway");
            assertEquals(gateway ? null : "false", env.get("QUARKUS_FLYWAY_MIGRATE_AT_START"), Manifests.name(deployment));
            assertEquals(gateway, env.containsKey("QUARKUS_FLYWAY_PASSWORD"), Manifests.name(deployment) + ": only the gateway holds the owner's password");
            // application.properties binds both interfaces to loopback: the kubelet and the Service could reach neither
            assertEquals("0.0.0.0", env.get("QUARKUS_HTTP_HOST"));
            assertEquals("0.0.0.0", env.get("QUARKUS_MANAGEMENT_HOST"));
            assertEquals("127.0.0.1", CONFIG.value("quarkus.management.host"), "the manifests override the loopback default");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void probesAskTheHealthPathsOnTheManagementPort(String overlay) {
        int management = Integer.parseInt(CONFIG.value("quarkus.management.port"));
        String health = "/" + CONFIG.values.getOrDefault("quarkus.http.non-application-root-path", "q") + "/"
                + CONFIG.values.getOrDefault("quarkus.smallrye-health.root-path", "health") + "/";
        Map<String, String> probes = Map.of(
                "startupProbe", health + CONFIG.values.getOrDefault("quarkus.smallrye-health.startup-path", "started"),
                "livenessProbe", health + CONFIG.values.getOrDefault("quarkus.smallrye-health.liveness-path", "live"),
                "readinessProbe", health + CONFIG.values.getOrDefault("quarkus.smallrye-health.readiness-path", "ready"));
        for (ObjectNode deployment : rendered(overlay).ofKind("Deployment")) {
            for (ObjectNode container : Manifests.containers(deployment)) {
                String where = Manifests.name(deployment) + "/" + container.path("name").asText();
                probes.forEach((probe, path) -> {
                    JsonNode get = container.path(probe).path("httpGet");
                    assertEquals(path, get.path("path").asText(null), where + " " + probe);
                    assertEquals(management, containerPort(container, get.path("port")), where + " " + probe + " port");
                });
                if (container.path("ports").findValuesAsText("name").contains("http")) {
                    assertEquals(Integer.parseInt(CONFIG.value("quarkus.http.port")), containerPort(container, Manifests.JSON.getNodeFactory().textNode("http")), where);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void prometheusScrapesTheMetricsOfEveryRoleOnTheManagementPort(String overlay) {
        Kustomization.Rendered r = rendered(overlay);
        ObjectNode monitor = r.one("ServiceMonitor", "steergate");
        JsonNode endpoint = monitor.path("spec").path("endpoints").get(0);
        assertEquals("/" + CONFIG.values.getOrDefault("quarkus.http.non-application-root-path", "q") + "/"
                + CONFIG.values.getOrDefault("quarkus.micrometer.export.prometheus.path", "metrics"), endpoint.path("path").asText());
        Set<String> scraped = new TreeSet<>();
        for (ObjectNode service : r.ofKind("Service")) {
            if (Manifests.selects(monitor.path("spec").path("selector"), service.path("metadata").path("labels"))) {
                assertTrue(service.path("spec").path("ports").findValuesAsText("name").contains(endpoint.path("port").asText()),
                        Manifests.name(service) + " has the port the ServiceMonitor scrapes");
                for (ObjectNode d : selectedDeployments(r, service.path("spec").path("selector"))) {
                    scraped.add(d.path("spec").path("template").path("metadata").path("labels").path("app.kubernetes.io/component").asText());
                }
            }
        }
        assertEquals(new TreeSet<>(AppConfiguration.roles()), scraped, "every role's pods are scraped");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void servicesBudgetsAndScalersSelectTheirPods(String overlay) {
        Kustomization.Rendered r = rendered(overlay);
        for (ObjectNode service : r.ofKind("Service")) {
            List<ObjectNode> pods = selectedDeployments(r, service.path("spec").path("selector"));
            assertFalse(pods.isEmpty(), "Service " + Manifests.name(service) + " selects pods");
            for (JsonNode port : service.path("spec").path("ports")) {
                for (ObjectNode d : pods) {
                    containerPort(Manifests.containers(d).get(0), port.path("targetPort"));
                }
            }
        }
        Set<String> scaled = new HashSet<>();
        for (ObjectNode scaler : r.ofKind("ScaledObject")) {
            String target = scaler.path("spec").path("scaleTargetRef").path("name").asText();
            r.one("Deployment", target);
            scaled.add(target);
            for (JsonNode trigger : scaler.path("spec").path("triggers")) {
                r.one("TriggerAuthentication", trigger.path("authenticationRef").path("name").asText());
            }
        }
        for (ObjectNode budget : r.ofKind("PodDisruptionBudget")) {
            List<ObjectNode> pods = selectedDeployments(r, budget.path("spec").path("selector"));
            assertEquals(1, pods.size(), "PodDisruptionBudget " + Manifests.name(budget) + " covers one Deployment");
            ObjectNode d = pods.get(0);
            int replicas = scaled.contains(Manifests.name(d))
                    ? r.ofKind("ScaledObject").stream().filter(s -> s.path("spec").path("scaleTargetRef").path("name").asText().equals(Manifests.name(d)))
                            .findFirst().orElseThrow().path("spec").path("minReplicaCount").asInt()
                    : d.path("spec").path("replicas").asInt(1);
            if (budget.path("spec").has("minAvailable")) {
                assertTrue(budget.path("spec").path("minAvailable").asInt() < replicas,
                        Manifests.name(budget) + ": minAvailable below the " + replicas + " replicas, or a node drain never ends");
            } else {
                assertTrue(budget.path("spec").path("maxUnavailable").asInt() >= 1, Manifests.name(budget));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void topicsAreTheApplicationsTopicsOnEnoughBrokers(String overlay) {
        Kustomization.Rendered r = rendered(overlay);
        ObjectNode kafka = r.ofKind("Kafka").get(0);
        Set<String> topics = new TreeSet<>();
        int brokers = 0;
        int controllers = 0;
        for (ObjectNode pool : r.ofKind("KafkaNodePool")) {
            assertEquals(Manifests.name(kafka), pool.path("metadata").path("labels").path("strimzi.io/cluster").asText());
            int replicas = pool.path("spec").path("replicas").asInt();
            for (JsonNode role : pool.path("spec").path("roles")) {
                brokers += role.asText().equals("broker") ? replicas : 0;
                controllers += role.asText().equals("controller") ? replicas : 0;
            }
        }
        assertTrue(brokers >= 1 && controllers % 2 == 1, overlay + ": " + brokers + " brokers, " + controllers + " KRaft controllers (a majority needs an odd count)");
        int launcherPartitions = launcherPartitions();
        JsonNode brokerConfig = kafka.path("spec").path("kafka").path("config");
        for (ObjectNode topic : r.ofKind("KafkaTopic")) {
            String name = topic.path("spec").path("topicName").asText();
            topics.add(name);
            assertEquals(Manifests.name(kafka), topic.path("metadata").path("labels").path("strimzi.io/cluster").asText(), name);
            int replicas = topic.path("spec").path("replicas").asInt();
            int partitions = topic.path("spec").path("partitions").asInt();
            assertTrue(replicas >= 1 && replicas <= brokers, name + ": " + replicas + " replicas on " + brokers + " brokers");
            int minInsync = topic.path("spec").path("config").path("min.insync.replicas").asInt(brokerConfig.path("min.insync.replicas").asInt(1));
            assertTrue(replicas == 1 ? minInsync == 1 : minInsync < replicas,
                    name + ": min.insync.replicas " + minInsync + " of " + replicas + " (one broker down must not stop writes)");
            assertTrue(partitions >= launcherPartitions, name + ": at least the " + launcherPartitions + " partitions deploy/run's broker makes");
        }
        Set<String> expected = new TreeSet<>(CONFIG.topics());
        expected.add(jobsTopic(r.one("ConfigMap", SERVED_MODEL_CONFIG).path("data")));
        assertEquals(expected, topics, "the KafkaTopics are exactly the topics application.properties names and the served model's");
        for (String key : List.of("default.replication.factor", "offsets.topic.replication.factor", "transaction.state.log.replication.factor")) {
            assertTrue(brokerConfig.path(key).asInt() <= brokers, key);
        }
        assertEquals("false", brokerConfig.path("auto.create.topics.enable").asText(), "topics come from KafkaTopics only");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void theBrokerRunsTheClientsVersionAndTakesTheLargestRequestAndResult(String overlay) {
        JsonNode kafka = rendered(overlay).ofKind("Kafka").get(0).path("spec").path("kafka");
        assertEquals(pomProperty("kafka.version"), kafka.path("version").asText(), "the broker runs the clients' Kafka version");
        JsonNode config = kafka.path("config");
        long messageMaxBytes = config.path("message.max.bytes").asLong();
        assertEquals(Long.parseLong(CONFIG.value("steergate.limits.message-bytes")) + RECORD_OVERHEAD_BYTES, messageMaxBytes);
        assertTrue(Long.parseLong(CONFIG.value("steergate.gateway.max-result-bytes")) < messageMaxBytes);
        for (ObjectNode topic : rendered(overlay).ofKind("KafkaTopic")) {
            assertFalse(topic.path("spec").path("config").has("max.message.bytes"), "topics keep the broker's limit");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void theServedModelsJobTopicIsTheSameInTheConfigTheTopicAndTheScalers(String overlay) {
        Kustomization.Rendered r = rendered(overlay);
        JsonNode served = r.one("ConfigMap", SERVED_MODEL_CONFIG).path("data");
        String topic = jobsTopic(served);
        ObjectNode jobs = r.one("KafkaTopic", JOBS_TOPIC_RESOURCE);
        assertEquals(topic, jobs.path("spec").path("topicName").asText());
        assertEquals(buildConstant("MODEL_DIR"), served.path("STEERGATE_MODEL_DIR").asText(), "the model the images hold");
        JsonNode common = r.one("ConfigMap", "steergate-env").path("data");
        List<ObjectNode> scalers = r.ofKind("ScaledObject");
        assertFalse(scalers.isEmpty(), overlay + " scales its workers");
        for (ObjectNode scaler : scalers) {
            JsonNode trigger = scaler.path("spec").path("triggers").get(0);
            assertEquals("kafka", trigger.path("type").asText());
            JsonNode meta = trigger.path("metadata");
            assertEquals(topic, meta.path("topic").asText(), Manifests.name(scaler));
            assertEquals(CONFIG.value("steergate.worker.group-id"), meta.path("consumerGroup").asText(), "the workers' consumer group");
            assertEquals(common.path("KAFKA_BOOTSTRAP_SERVERS").asText(), meta.path("bootstrapServers").asText());
            int max = scaler.path("spec").path("maxReplicaCount").asInt();
            assertTrue(max <= jobs.path("spec").path("partitions").asInt(),
                    Manifests.name(scaler) + ": " + max + " workers, more than the job topic's partitions would stand idle");
            assertTrue(scaler.path("spec").path("minReplicaCount").asInt() >= 1, "a worker is always there for the first job");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void eachRoleRunsTheImageBuiltForItAndOnlyGpuWorkersTheCudaOne(String overlay) {
        Properties images = properties(IMAGES);
        String version = pomVersion();
        Map<String, String> tags = new LinkedHashMap<>();
        for (JsonNode image : Manifests.readYaml(Manifests.ROOT.resolve("images/kustomization.yaml")).get(0).path("images")) {
            tags.put(image.path("name").asText(), image.path("newTag").asText());
        }
        Map<String, String> built = new LinkedHashMap<>();
        for (String key : images.getProperty("images").split(",")) {
            built.put(images.getProperty(key + ".name"), version);
            assertTrue(images.getProperty(key + ".name").startsWith(artifactId() + "/"), key);
        }
        assertEquals(built, tags, "k8s/images names every image the build makes, with the application's version as tag");
        for (ObjectNode deployment : rendered(overlay).ofKind("Deployment")) {
            String role = deployment.path("spec").path("template").path("metadata").path("labels").path("app.kubernetes.io/component").asText();
            JsonNode pod = Manifests.podSpec(deployment);
            ObjectNode container = Manifests.containers(deployment).get(0);
            JsonNode gpus = container.path("resources").path("limits").path("nvidia.com/gpu");
            boolean gpu = !gpus.isMissingNode();
            List<String> keys = new ArrayList<>();
            for (String key : images.getProperty("images").split(",")) {
                if (images.getProperty(key + ".roles").equals(role) && gpu == images.containsKey(key + ".env.PYTORCH_LIBRARY_PATH")) {
                    keys.add(key);
                }
            }
            assertEquals(1, keys.size(), Manifests.name(deployment) + ": one image is built for role " + role + (gpu ? " on a GPU" : ""));
            String key = keys.get(0);
            assertEquals(images.getProperty(key + ".name") + ":" + version, container.path("image").asText(), Manifests.name(deployment));
            if (gpu) {
                assertEquals(gpus.asText(), container.path("resources").path("requests").path("nvidia.com/gpu").asText());
                assertEquals("gpu", env(rendered(overlay), container).get("STEERGATE_MODEL_DEVICE"), "a GPU worker fails rather than running on the CPU");
                assertEquals("true", pod.path("nodeSelector").path("nvidia.com/gpu.present").asText());
                assertTrue(pod.path("tolerations").findValuesAsText("key").contains("nvidia.com/gpu"));
                String libtorch = images.getProperty(key + ".env.PYTORCH_LIBRARY_PATH");
                assertTrue(container.path("volumeMounts").findValuesAsText("mountPath").stream().anyMatch(m -> libtorch.startsWith(m + "/")),
                        Manifests.name(deployment) + " mounts CUDA libtorch where the image looks for it: " + libtorch);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void kafkaUsersHoldExactlyTheAclsOfKafkaAcls(String overlay) {
        Kustomization.Rendered r = rendered(overlay);
        Set<String> roles = new TreeSet<>();
        for (ObjectNode user : r.ofKind("KafkaUser")) {
            String name = Manifests.name(user);
            String role = user.path("metadata").path("annotations").path("steergate.io/acls").asText();
            roles.add(role);
            List<AclBinding> expected = switch (role) {
                case "application" -> KafkaAcls.application(name);
                case "shared-client" -> KafkaAcls.sharedClient(name);
                default -> throw new AssertionError(name + ": steergate.io/acls names which KafkaAcls principal it is");
            };
            assertEquals("scram-sha-512", user.path("spec").path("authentication").path("type").asText(), name);
            assertEquals(Set.copyOf(expected), strimziAcls(name, user.path("spec").path("authorization")), name + ": ACLs");
        }
        assertEquals(Set.of("application", "shared-client"), roles);
        String appUser = r.ofKind("KafkaUser").stream()
                .filter(u -> u.path("metadata").path("annotations").path("steergate.io/acls").asText().equals("application"))
                .findFirst().map(Manifests::name).orElseThrow();
        for (ObjectNode deployment : r.ofKind("Deployment")) {
            String jaas = env(r, Manifests.containers(deployment).get(0)).get("KAFKA_SASL_JAAS_CONFIG");
            assertEquals("secret:" + appUser + "/sasl.jaas.config", jaas, Manifests.name(deployment) + " logs in as the application's user");
        }
    }

    @Test
    void aclsOfStrimziAreReadAsKafkaAcls() {
        JsonNode authorization = Manifests.readYamlString("""
                type: simple
                acls:
                  - resource: {type: topic, name: steer., patternType: prefix}
                    operations: [Read, Write, Describe]
                  - resource: {type: cluster}
                    operations: [IdempotentWrite]
                """);
        Set<AclBinding> acls = strimziAcls("x", authorization);
        assertEquals(4, acls.size());
        assertTrue(acls.contains(new AclBinding(new ResourcePattern(ResourceType.CLUSTER, Resource.CLUSTER_NAME, PatternType.LITERAL),
                new AccessControlEntry("User:x", "*", AclOperation.IDEMPOTENT_WRITE, AclPermissionType.ALLOW))));
        assertFalse(Set.copyOf(KafkaAcls.application("x")).equals(acls), "the application's group ACLs are missing here");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void everySecretReferencedIsMadeByAnOperatorRenderedOrTemplated(String overlay) {
        Kustomization.Rendered r = rendered(overlay);
        Map<String, Set<String>> available = new LinkedHashMap<>();
        for (ObjectNode user : r.ofKind("KafkaUser")) {
            available.put(Manifests.name(user), Set.of("password", "sasl.jaas.config"));
        }
        for (ObjectNode kafka : r.ofKind("Kafka")) {
            available.put(Manifests.name(kafka) + "-cluster-ca-cert", Set.of("ca.crt", "ca.p12", "ca.password"));
        }
        for (ObjectNode cluster : r.ofKind("Cluster")) {
            available.put(Manifests.name(cluster) + "-ca", Set.of("ca.crt", "ca.key"));
        }
        for (ObjectNode secret : r.ofKind("Secret")) {
            available.put(Manifests.name(secret), secretKeys(secret));
        }
        Map<String, Set<String>> templates = new LinkedHashMap<>();
        for (Path file : Manifests.yamlFiles()) {
            if (file.startsWith(Manifests.SECRET_TEMPLATES)) {
                for (JsonNode doc : Manifests.readYaml(file)) {
                    templates.put(Manifests.name(doc), secretKeys(doc));
                }
            }
        }
        List<String[]> refs = new ArrayList<>();
        for (ObjectNode deployment : r.ofKind("Deployment")) {
            for (ObjectNode c : Manifests.containers(deployment)) {
                for (JsonNode e : c.path("env")) {
                    JsonNode ref = e.path("valueFrom").path("secretKeyRef");
                    if (!ref.isMissingNode()) {
                        refs.add(new String[] {ref.path("name").asText(), ref.path("key").asText()});
                    }
                }
            }
            for (JsonNode volume : Manifests.podSpec(deployment).path("volumes")) {
                JsonNode secret = volume.path("secret");
                if (!secret.isMissingNode()) {
                    if (secret.has("items")) {
                        secret.path("items").forEach(i -> refs.add(new String[] {secret.path("secretName").asText(), i.path("key").asText()}));
                    } else {
                        refs.add(new String[] {secret.path("secretName").asText(), null});
                    }
                }
            }
        }
        for (ObjectNode auth : r.ofKind("TriggerAuthentication")) {
            auth.path("spec").path("secretTargetRef").forEach(ref -> refs.add(new String[] {ref.path("name").asText(), ref.path("key").asText()}));
        }
        for (ObjectNode cluster : r.ofKind("Cluster")) {
            refs.add(new String[] {cluster.path("spec").path("bootstrap").path("initdb").path("secret").path("name").asText(), "password"});
            cluster.path("spec").path("managed").path("roles").forEach(role -> refs.add(new String[] {role.path("passwordSecret").path("name").asText(), "password"}));
        }
        for (ObjectNode store : r.ofKind("ObjectStore")) {
            store.path("spec").path("configuration").path("s3Credentials")
                    .forEach(ref -> refs.add(new String[] {ref.path("name").asText(), ref.path("key").asText()}));
        }
        for (String[] ref : refs) {
            Set<String> keys = available.containsKey(ref[0]) ? available.get(ref[0]) : templates.get(ref[0]);
            assertNotNull(keys, overlay + ": Secret " + ref[0] + " is neither made by an operator, rendered, nor templated in k8s/secrets");
            if (ref[1] != null) {
                assertTrue(keys.contains(ref[1]), "Secret " + ref[0] + " has no key " + ref[1]);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void theDatabaseHoldsTheApplicationsTwoRoles(String overlay) {
        Kustomization.Rendered r = rendered(overlay);
        ObjectNode cluster = r.one("Cluster", "steergate-db");
        JsonNode initdb = cluster.path("spec").path("bootstrap").path("initdb");
        assertEquals(CONFIG.value("quarkus.flyway.username"), initdb.path("owner").asText(), "Flyway migrates as the database's owner");
        List<String> managed = new ArrayList<>();
        cluster.path("spec").path("managed").path("roles").forEach(role -> managed.add(role.path("name").asText()));
        assertEquals(List.of(CONFIG.value("quarkus.datasource.username")), managed, "the application's role");
        Matcher url = Pattern.compile("jdbc:postgresql://([^:/]+):5432/([^?]+)\\?.*sslmode=verify-full.*")
                .matcher(r.one("ConfigMap", "steergate-env").path("data").path("QUARKUS_DATASOURCE_JDBC_URL").asText());
        assertTrue(url.matches(), "the JDBC URL checks the server's certificate");
        assertEquals(Manifests.name(cluster) + "-rw", url.group(1), "the primary's Service");
        assertEquals(initdb.path("database").asText(), url.group(2));
        Map<String, String> usernames = new LinkedHashMap<>();
        for (Path file : Manifests.yamlFiles()) {
            if (file.startsWith(Manifests.SECRET_TEMPLATES)) {
                Manifests.readYaml(file).forEach(doc -> usernames.put(Manifests.name(doc), doc.path("stringData").path("username").asText(null)));
            }
        }
        assertEquals(initdb.path("owner").asText(), usernames.get(initdb.path("secret").path("name").asText()));
        for (JsonNode role : cluster.path("spec").path("managed").path("roles")) {
            assertEquals(role.path("name").asText(), usernames.get(role.path("passwordSecret").path("name").asText()));
        }
        List<ObjectNode> backups = r.ofKind("ScheduledBackup");
        List<String> archivers = cluster.path("spec").path("plugins").findValuesAsText("barmanObjectName");
        if (!backups.isEmpty()) {
            assertEquals(List.of(Manifests.name(r.ofKind("ObjectStore").get(0))), archivers, "WAL goes to the ObjectStore the backups use");
            assertEquals("plugin", backups.get(0).path("spec").path("method").asText());
        } else {
            assertEquals(List.of(), archivers, "no WAL archive without its ObjectStore");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void containersAreSizedProbedAndRunAsNonRootOnAReadOnlyRoot(String overlay) {
        String[] user = buildConstant("USER").split(":");
        List<String> writable = List.of("/tmp", buildConstant("HOME"), buildConstant("DJL_CACHE_DIR"));
        for (ObjectNode deployment : rendered(overlay).ofKind("Deployment")) {
            JsonNode pod = Manifests.podSpec(deployment);
            assertTrue(pod.path("securityContext").path("runAsNonRoot").asBoolean(), Manifests.name(deployment));
            assertEquals(user[0], pod.path("securityContext").path("runAsUser").asText(), "the image's user");
            assertEquals(user[1], pod.path("securityContext").path("fsGroup").asText(), "the image's group reads mounted Secrets");
            for (ObjectNode c : Manifests.containers(deployment)) {
                String where = Manifests.name(deployment) + "/" + c.path("name").asText();
                JsonNode resources = c.path("resources");
                for (String path : List.of("requests/cpu", "requests/memory", "limits/memory")) {
                    assertFalse(resources.at("/" + path).isMissingNode(), where + " " + path);
                }
                assertTrue(c.path("securityContext").path("readOnlyRootFilesystem").asBoolean(), where);
                assertFalse(c.path("securityContext").path("allowPrivilegeEscalation").asBoolean(true), where);
                assertTrue(c.path("volumeMounts").findValuesAsText("mountPath").containsAll(writable),
                        where + ": the directories the image writes are volumes " + writable);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void networkPoliciesOpenTheApplicationsPortsToWhoNeedsThem(String overlay) {
        Kustomization.Rendered r = rendered(overlay);
        Map<String, Integer> expected = Map.of(
                "steergate-gateway-api", Integer.parseInt(CONFIG.value("quarkus.http.port")),
                "steergate-management", Integer.parseInt(CONFIG.value("quarkus.management.port")));
        expected.forEach((name, port) -> {
            ObjectNode policy = r.one("NetworkPolicy", name);
            assertEquals(List.of(String.valueOf(port)), policy.path("spec").path("ingress").findValuesAsText("port"), name);
            assertFalse(selectedDeployments(r, policy.path("spec").path("podSelector")).isEmpty(), name + " selects pods");
        });
        assertTrue(r.one("NetworkPolicy", "default-deny-ingress").path("spec").path("podSelector").isEmpty());
    }

    /**
     * A gateway pod is given time to drain before it is killed: readiness DOWN for the delay, then the requests in
     * flight up to the packaged application's shutdown timeout, which outlasts a synchronous caller's wait.
     */
    @ParameterizedTest
    @ValueSource(strings = {"dev", "prod"})
    void theGatewaysGracePeriodCoversItsDrain(String overlay) throws IOException {
        ObjectNode gateway = rendered(overlay).one("Deployment", "steergate-gateway");
        Duration delay = Duration.parse(env(rendered(overlay), Manifests.containers(gateway).get(0)).get("QUARKUS_SHUTDOWN_DELAY"));
        String prodTimeout = "%prod.quarkus.shutdown.timeout=";
        Duration timeout = Duration.parse(Files.readAllLines(AppConfiguration.PROPERTIES).stream().filter(l -> l.startsWith(prodTimeout))
                .findFirst().orElseThrow().substring(prodTimeout.length()));
        assertEquals("true", CONFIG.value("quarkus.shutdown.delay-enabled"), "a build-time property: without it the delay is ignored");
        assertTrue(timeout.compareTo(Duration.parse(CONFIG.value("steergate.gateway.http-wait"))) > 0, "the drain outlasts http-wait");
        long grace = Manifests.podSpec(gateway).path("terminationGracePeriodSeconds").asLong();
        assertTrue(grace >= delay.plus(timeout).plusSeconds(10).toSeconds(),
                overlay + ": " + grace + " s of grace for " + delay + " + " + timeout + " and the consumers' stop");
    }

    @Test
    void prodIsHighlyAvailable() {
        Kustomization.Rendered r = rendered("prod");
        assertTrue(r.one("Deployment", "steergate-gateway").path("spec").path("replicas").asInt() >= 3);
        assertEquals(3, r.one("Cluster", "steergate-db").path("spec").path("instances").asInt());
        Map<String, Integer> pools = r.ofKind("KafkaNodePool").stream().collect(Collectors.toMap(Manifests::name, p -> p.path("spec").path("replicas").asInt()));
        assertEquals(Map.of("controllers", 3, "brokers", 3), pools);
        for (ObjectNode topic : r.ofKind("KafkaTopic")) {
            assertEquals(3, topic.path("spec").path("replicas").asInt());
        }
        assertEquals(2, r.ofKind("Kafka").get(0).path("spec").path("kafka").path("config").path("min.insync.replicas").asInt());
        assertFalse(r.ofKind("ScheduledBackup").isEmpty(), "prod keeps backups");
        assertEquals(List.of("steergate-worker-gpu"), r.ofKind("ScaledObject").stream().map(Manifests::name).toList());
    }

    @Test
    void devIsOneNode() {
        Kustomization.Rendered r = rendered("dev");
        assertEquals(1, r.one("Cluster", "steergate-db").path("spec").path("instances").asInt());
        assertEquals(1, r.ofKind("KafkaNodePool").size());
        assertEquals("[\"controller\",\"broker\"]", r.ofKind("KafkaNodePool").get(0).path("spec").path("roles").toString());
        assertEquals(List.of("steergate-worker-cpu"), r.ofKind("ScaledObject").stream().map(Manifests::name).toList());
        assertTrue(r.ofKind("ScheduledBackup").isEmpty());
        assertEquals(Set.of("steergate-dev"), r.resources().stream().filter(x -> !x.path("kind").asText().equals("Namespace"))
                .map(x -> x.path("metadata").path("namespace").asText()).collect(Collectors.toSet()));
    }

    // ---- helpers

    /**
     * A container's environment as the kubelet builds it: envFrom ConfigMaps (which must be rendered), then env,
     * which wins; a value from a Secret reads {@code secret:<name>/<key>}.
     */
    static Map<String, String> env(Kustomization.Rendered r, JsonNode container) {
        Map<String, String> env = new LinkedHashMap<>();
        for (JsonNode from : container.path("envFrom")) {
            assertTrue(from.has("configMapRef"), "envFrom takes ConfigMaps only, whose keys the checks can see: " + from);
            r.one("ConfigMap", from.path("configMapRef").path("name").asText()).path("data").fields()
                    .forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
        }
        for (JsonNode e : container.path("env")) {
            JsonNode secret = e.path("valueFrom").path("secretKeyRef");
            env.put(e.path("name").asText(), secret.isMissingNode() ? e.path("value").asText()
                    : "secret:" + secret.path("name").asText() + "/" + secret.path("key").asText());
        }
        return env;
    }

    /**
     * The served model's job topic as the application names it: {@code steergate.jobs.topic-prefix} + the model where
     * the application has one topic per model, else the jobs topic both roles are given (which must agree), as the
     * served-model ConfigMap or application.properties sets it.
     */
    private static String jobsTopic(JsonNode served) {
        if (CONFIG.names.contains("steergate.jobs.topic-prefix")) {
            String prefix = served.path(AppConfiguration.envName("steergate.jobs.topic-prefix"))
                    .asText(CONFIG.value("steergate.jobs.topic-prefix"));
            return prefix + served.path("STEERGATE_GATEWAY_MODEL").asText(CONFIG.value("steergate.gateway.model"));
        }
        String topic = served.path("STEERGATE_WORKER_JOBS_TOPIC").asText(CONFIG.value("steergate.worker.jobs-topic"));
        assertEquals(topic, served.path("STEERGATE_GATEWAY_JOBS_TOPIC").asText(CONFIG.value("steergate.gateway.jobs-topic")),
                "the gateway writes the topic the workers read");
        return topic;
    }

    private static int containerPort(JsonNode container, JsonNode port) {
        if (port.isInt()) {
            return port.asInt();
        }
        for (JsonNode p : container.path("ports")) {
            if (p.path("name").asText().equals(port.asText())) {
                return p.path("containerPort").asInt();
            }
        }
        throw new AssertionError(container.path("name").asText() + " has no port named " + port.asText());
    }

    private static List<ObjectNode> selectedDeployments(Kustomization.Rendered r, JsonNode selector) {
        return r.ofKind("Deployment").stream()
                .filter(d -> Manifests.selects(selector, d.path("spec").path("template").path("metadata").path("labels")))
                .toList();
    }

    private static Set<String> secretKeys(JsonNode secret) {
        Set<String> keys = new TreeSet<>(Manifests.fieldNames(secret.path("stringData")));
        keys.addAll(Manifests.fieldNames(secret.path("data")));
        return keys;
    }

    /** Strimzi's simple authorization ACLs as Kafka's bindings (operations in Strimzi's spelling: IdempotentWrite). */
    static Set<AclBinding> strimziAcls(String user, JsonNode authorization) {
        assertEquals("simple", authorization.path("type").asText());
        Set<AclBinding> acls = new HashSet<>();
        for (JsonNode acl : authorization.path("acls")) {
            JsonNode resource = acl.path("resource");
            ResourceType type = ResourceType.valueOf(resource.path("type").asText().toUpperCase(Locale.ROOT));
            String name = type == ResourceType.CLUSTER ? Resource.CLUSTER_NAME : resource.path("name").asText();
            PatternType pattern = switch (resource.path("patternType").asText("literal")) {
                case "literal" -> PatternType.LITERAL;
                case "prefix" -> PatternType.PREFIXED;
                default -> throw new AssertionError("patternType " + resource.path("patternType").asText());
            };
            AclPermissionType permission = AclPermissionType.valueOf(acl.path("type").asText("allow").toUpperCase(Locale.ROOT));
            for (JsonNode op : acl.path("operations")) {
                AclOperation operation = AclOperation.valueOf(op.asText().replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT));
                acls.add(new AclBinding(new ResourcePattern(type, name, pattern),
                        new AccessControlEntry(KafkaAcls.principal(user), acl.path("host").asText("*"), operation, permission)));
            }
        }
        return acls;
    }

    private static Properties properties(Path file) {
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(file)) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    /** A String constant of the image build ({@code static final String NAME = "...";}). */
    private static String buildConstant(String name) {
        try {
            Matcher m = Pattern.compile("static final String " + name + " = \"([^\"]+)\";").matcher(Files.readString(IMAGE_BUILD));
            assertTrue(m.find(), IMAGE_BUILD + " has " + name);
            return m.group(1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String pomVersion() {
        try {
            Matcher m = Pattern.compile("</artifactId>\\s*<version>([^<]+)</version>").matcher(Files.readString(Path.of("pom.xml")));
            assertTrue(m.find(), "pom.xml names the project's version");
            return m.group(1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String pomProperty(String name) {
        try {
            Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</").matcher(Files.readString(Path.of("pom.xml")));
            assertTrue(m.find(), "pom.xml sets " + name);
            return m.group(1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String artifactId() {
        try {
            Matcher m = Pattern.compile("</modelVersion>\\s*<groupId>[^<]+</groupId>\\s*<artifactId>([^<]+)</artifactId>")
                    .matcher(Files.readString(Path.of("pom.xml")));
            assertTrue(m.find(), "pom.xml names the project's artifactId");
            return m.group(1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The partitions deploy/run's broker gives every topic (EmbeddedStack.PARTITIONS, another module). */
    private static int launcherPartitions() {
        try {
            Matcher m = Pattern.compile("static final int PARTITIONS = (\\d+);").matcher(Files.readString(
                    Path.of("deploy/launcher/src/main/java/io/steergate/launcher/EmbeddedStack.java")));
            assertTrue(m.find(), "EmbeddedStack.PARTITIONS");
            return Integer.parseInt(m.group(1));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
