package io.steergate.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.steergate.policy.PolicyStore.UncoveredTenants;
import io.steergate.testing.LogCapture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How PolicyEngine reports refused policy files while the intervention import of a first start is under way: a file
 * that waits only for interventions being imported is reported once at INFO; every other refusal, and a waiting file
 * still refused once the import has settled, is a WARN; the refused-files gauge counts them all throughout.
 */
class PolicyEngineRefusalLogTest {

    @TempDir
    Path dir;

    private final Set<String> registered = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean settled = new AtomicBoolean();
    private LogCapture log;
    private PolicyEngine engine;

    @BeforeEach
    void engine() throws IOException {
        log = LogCapture.of(PolicyEngine.class);
        // "waits" names only an intervention not registered yet; "broken" has a mistake of its own besides
        Files.writeString(dir.resolve("waits.yaml"), "id: waits\ntenants: [w]\nrules:\n  - name: r\n"
                + "    apply: [{intervention: kindness, strength: 1}]\n");
        Files.writeString(dir.resolve("broken.yaml"), "id: broken\ntenants: [b]\nrules:\n  - name: r\n"
                + "    apply: [{intervention: kindness, strength: 2}]\n");
        engine = new PolicyEngine(new PolicyStore(dir, catalog(), UncoveredTenants.REJECT), catalog(), settled::get);
        engine.metrics = new SimpleMeterRegistry();
    }

    @AfterEach
    void detach() {
        log.close();
    }

    @Test
    void aFileWaitingForTheImportIsReportedOnceAtInfoAndAnyOtherRefusalWarns() {
        engine.reload(true);
        engine.reload(true);

        assertEquals(List.of("WARN broken.yaml"), refusals(Level.WARNING));
        assertEquals(List.of("INFO waits.yaml"), refusals(Level.INFO), "once, however often it is re-read");
        assertEquals(2, engine.refusedFiles.get(), "both are refused: nothing of them is in force");
    }

    @Test
    void aFileStillRefusedOnceTheImportHasSettledWarns() {
        engine.reload(true);
        settled.set(true);
        engine.reload(true);
        engine.reload(true);

        assertEquals(List.of("WARN broken.yaml", "WARN broken.yaml", "WARN waits.yaml"), refusals(Level.WARNING),
                "the import did not bring what it names: a refusal like any other, warned once");
        assertEquals(2, engine.refusedFiles.get());
    }

    @Test
    void withoutAnImportUnderWayAnUnknownInterventionWarnsAtOnce() throws IOException {
        settled.set(true);
        engine.reload(true);

        assertEquals(List.of("WARN broken.yaml", "WARN waits.yaml"), refusals(Level.WARNING));
        assertEquals(List.of(), refusals(Level.INFO));
    }

    @Test
    void aFileTheImportBringsIntoForceIsNeverWarnedOf() {
        engine.reload(true);
        registered.add("kindness");
        engine.reload(true);
        settled.set(true);
        engine.reload(true);

        assertEquals(List.of("WARN broken.yaml", "WARN broken.yaml"), refusals(Level.WARNING),
                "broken.yaml still has its wrong strength (warned again as the refusals changed); waits.yaml never");
        assertEquals(List.of("INFO waits.yaml"), refusals(Level.INFO));
        assertEquals(1, engine.refusedFiles.get(), "only broken.yaml is refused now");
    }

    /** Each refusal report at {@code level}, as "LEVEL file" per file it names, in order. */
    private List<String> refusals(Level level) {
        return log.records().stream().filter(record -> record.getLevel().intValue() == level.intValue()
                        && record.getMessage().startsWith("policy file"))
                .flatMap(record -> {
                    String message = record.getMessage();
                    if (record.getParameters() != null) {
                        message = String.format(message, record.getParameters());
                    }
                    String text = message;
                    return Set.of("waits.yaml", "broken.yaml").stream().filter(text::contains).sorted()
                            .map(file -> (level == Level.WARNING ? "WARN " : "INFO ") + file);
                })
                .toList();
    }

    /** Knows the interventions registered so far, at version 1 on one site. */
    private InterventionCatalog catalog() {
        return new InterventionCatalog() {
            @Override
            public boolean exists(String name) {
                return registered.contains(name);
            }

            @Override
            public Optional<Integer> activeVersion(String name) {
                return registered.contains(name) ? Optional.of(1) : Optional.empty();
            }

            @Override
            public Set<String> sites(String name) {
                return registered.contains(name) ? Set.of("layers.0.resid") : Set.of();
            }
        };
    }
}
