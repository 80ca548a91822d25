package io.steergate.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.steergate.messages.PolicyRef;
import io.steergate.policy.PolicyStore.UncoveredTenants;
import io.steergate.testing.LogCapture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each policy version a reload puts in force is recorded in policy_versions, by which other gateways judge outputs
 * planned under a version they do not hold. With the database away the write fails: one WARN per version, and the
 * write is tried again at every reload until it holds, or until the version is no longer in force.
 */
class PolicyVersionRecordingTest {

    @TempDir
    Path dir;

    private final AtomicBoolean databaseAway = new AtomicBoolean(true);
    private final AtomicInteger writes = new AtomicInteger();
    /** The table: policy id and version to the content recorded. */
    private final Map<PolicyRef, String> table = new ConcurrentHashMap<>();
    private LogCapture log;
    private PolicyEngine engine;

    @BeforeEach
    void engine() {
        log = LogCapture.of(PolicyEngine.class);
        engine = new PolicyEngine(new PolicyStore(dir, InterventionCatalog.empty(), UncoveredTenants.REJECT), InterventionCatalog.empty());
        engine.metrics = new SimpleMeterRegistry();
        engine.recordedVersions(new PolicyEngine.RecordedVersions() {
            @Override
            public Optional<PolicyVersionRecord> find(PolicyRef ref) {
                return Optional.empty();
            }

            @Override
            public void insert(Policy policy, byte[] content) {
                writes.incrementAndGet();
                if (databaseAway.get()) {
                    throw new IllegalStateException("Unable to acquire JDBC Connection");
                }
                table.putIfAbsent(new PolicyRef(policy.id(), policy.version()), new String(content));
            }
        });
    }

    @AfterEach
    void detach() {
        log.close();
    }

    @Test
    void aVersionNotRecordedIsTriedAgainAtEveryReloadUntilItIsWithOneWarning() throws IOException {
        Files.writeString(dir.resolve("a.yaml"), "id: a\ntenants: [x]\n");
        engine.reload(true);
        engine.reload(false);
        engine.reload(false);
        assertEquals(3, writes.get(), "tried at every reload while the database is away");
        assertTrue(table.isEmpty());
        assertEquals(1, warnings(), "one WARN for the version, not one per reload");

        databaseAway.set(false);
        engine.reload(false);
        String version = engine.policyOf(new PolicyRef("a", "sha256:x")).orElseThrow().version();
        assertEquals(Map.of(new PolicyRef("a", version), "id: a\ntenants: [x]\n"), table, "recorded once the database is back");
        engine.reload(false);
        engine.reload(false);
        assertEquals(4, writes.get(), "a recorded version is not written again");
    }

    @Test
    void aVersionReplacedBeforeItWasRecordedIsNotRecordedItsSuccessorIs() throws IOException {
        Files.writeString(dir.resolve("a.yaml"), "id: a\ntenants: [x]\n");
        engine.reload(true);
        Files.writeString(dir.resolve("a.yaml"), "id: a\ndescription: the second version\ntenants: [x]\n");
        databaseAway.set(false);
        engine.reload(true);
        engine.reload(false);

        String second = engine.policyOf(new PolicyRef("a", "sha256:x")).orElseThrow().version();
        assertEquals(Map.of(new PolicyRef("a", second), "id: a\ndescription: the second version\ntenants: [x]\n"), table,
                "only the version in force is recorded");
    }

    private long warnings() {
        return log.records().stream().filter(record -> record.getLevel().intValue() == Level.WARNING.intValue()
                && record.getMessage().startsWith("could not record policy")).count();
    }
}
