package io.steergate.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.steergate.intervention.InterventionRegistry;
import io.steergate.intervention.InterventionRegistryQuarkusTest;
import io.steergate.testing.SteerGateTestProfile;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
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
        CountDownLatch imported = new CountDownLatch(1);
        CountDownLatch commit = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            Future<?> first = threads.submit(() -> QuarkusTransaction.requiringNew().run(() -> {
                demo.importOne(entry, map);
                imported.countDown();
                try {
                    commit.await(); // the first gateway's import, not committed yet
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            assertTrue(imported.await(60, TimeUnit.SECONDS));
            Future<?> second = threads.submit(() -> demo.importOne(entry, map));
            while (!second.isDone() && QuarkusTransaction.requiringNew().call(() -> ((Number) entities.createNativeQuery(
                    "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()")
                    .getSingleResult()).longValue()) == 0) {
                Thread.sleep(20);
            }
            commit.countDown();
            first.get(60, TimeUnit.SECONDS);
            second.get(60, TimeUnit.SECONDS);
        } finally {
            commit.countDown();
            threads.shutdownNow();
        }
        InterventionRegistry.InterventionSummary stored = registry.get(name).orElseThrow();
        assertEquals(1, stored.versions().size(), stored.toString());
        assertEquals(Integer.valueOf(1), stored.activeVersion());
    }
}
