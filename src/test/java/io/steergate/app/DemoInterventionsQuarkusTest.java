package io.steergate.app;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.steergate.intervention.InterventionRegistry;
import io.steergate.intervention.InterventionRegistryQuarkusTest;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.Turns;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The demo import on the real PostgreSQL, as several gateways starting on an empty registry run it. */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class DemoInterventionsQuarkusTest {

    @Inject
    DemoInterventions demo;

    @Inject
    InterventionRegistry registry;

    @Inject
    EntityManager entities;

    /**
     * Two gateways importing one demo intervention at once: the second waits for the first's upload and promotion to
     * commit, then finds it there. Before, both saw an empty registry and the second stored and promoted a version 2.
     */
    @Test
    void twoImportsOfOneInterventionAtOnceStoreOneVersion() throws Exception {
        String name = "demo-" + UUID.randomUUID().toString().substring(0, 8);
        DemoInterventions.Entry entry = new DemoInterventions.Entry(name, "style", "a demo");
        byte[] map = InterventionRegistryQuarkusTest.mapFile(name, InterventionRegistryQuarkusTest.fingerprint(), 64, 0);
        Turns.secondWhileFirstUncommitted(entities, () -> {
            demo.importOne(entry, map);
            return null;
        }, () -> {
            demo.importOne(entry, map);
            return null;
        });
        InterventionRegistry.InterventionSummary stored = registry.get(name).orElseThrow();
        assertEquals(1, stored.versions().size(), stored.toString());
        assertEquals(Integer.valueOf(1), stored.activeVersion());
    }
}
