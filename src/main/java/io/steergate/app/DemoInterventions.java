package io.steergate.app;

import io.quarkus.runtime.StartupEvent;
import io.steergate.intervention.InterventionRegistry;
import io.steergate.messages.ApiError;
import io.steergate.policy.InterventionImport;
import io.steergate.policy.PolicyEngine;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import io.steergate.role.ProcessRoles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.transaction.Transactional;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Imports the demo interventions the example policies use (policies/interventions/: map files fitted on the default
 * model, listed with their kind in index.txt) into an empty registry and promotes them, so that a newcomer sees
 * steering work on first start. Waits in the background until a worker has registered the model it serves; an
 * intervention that already exists is left alone, so later versions and promotions are never overwritten.
 */
@ApplicationScoped
public class DemoInterventions implements InterventionImport {

    private static final Logger LOG = Logger.getLogger(DemoInterventions.class);

    @Inject
    InterventionRegistry registry;

    @ConfigProperty(name = "steergate.demo.interventions-dir", defaultValue = "policies/interventions")
    Path dir;

    @Inject
    PolicyEngine policies;

    @Inject
    ProcessRoles roles;

    @Inject
    EntityManager entities;

    private volatile boolean settled;

    /** One line of index.txt: {@code name kind description...}. */
    record Entry(String name, String kind, String description) {}

    /** True once there is nothing (more) to import and the policies have been re-read with what was imported. */
    @Override
    public boolean settled() {
        return settled;
    }

    void start(@Observes StartupEvent event) throws IOException {
        Path index = dir.resolve("index.txt");
        if (!roles.gateway() || !Files.isRegularFile(index)) {
            settled = true;
            return;
        }
        List<Entry> entries = Files.readAllLines(index, StandardCharsets.UTF_8).stream()
                .map(String::strip).filter(line -> !line.isEmpty() && !line.startsWith("#"))
                .map(line -> line.split("\\s+", 3))
                .map(parts -> new Entry(parts[0], parts[1], parts.length > 2 ? parts[2] : ""))
                .toList();
        Thread thread = new Thread(() -> importWhenServed(entries), "demo-interventions");
        thread.setDaemon(true);
        thread.start();
    }

    /** Database calls wait out outages (Retry); whatever happens, the import ends settled so decisions can start. */
    private void importWhenServed(List<Entry> entries) {
        try {
            for (int waited = 0; !Retry.untilDone("looking for a served model", registry::anyServedModel); waited++) {
                if (waited == 600) {
                    LOG.warn("demo interventions not imported: no worker registered a model within 10 minutes");
                    return;
                }
                Thread.sleep(1_000);
            }
            for (Entry entry : entries) {
                byte[] map = Files.readAllBytes(dir.resolve(entry.name() + ".safetensors"));
                Retry.untilDone("importing demo intervention " + entry.name(), () -> importOne(entry, map));
            }
            policies.reloadNow();
        } catch (ApiError e) {
            LOG.warnf("demo interventions not imported: %s", e.getMessage());
        } catch (IOException | RuntimeException e) {
            LOG.warnf("demo interventions not imported: %s", Failures.rootMessage(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            settled = true;
        }
    }

    /**
     * Stores and promotes one intervention in one transaction, so an outage or a kill between the two never leaves it
     * a candidate that a retry then finds existing and leaves inactive. Gateways starting together take turns (a
     * transaction-scoped advisory lock), so the later one finds it there instead of storing a second version.
     */
    @Transactional
    void importOne(Entry entry, byte[] map) {
        entities.createNativeQuery("select pg_advisory_xact_lock(hashtext('steergate.demo-import'))").getSingleResult();
        if (registry.exists(entry.name())) {
            return;
        }
        int version = registry.upload(entry.name(), entry.kind(), entry.description(), map, "demo-import").version();
        registry.promote(entry.name(), version);
        LOG.infof("demo intervention %s (%s) imported from %s and promoted", entry.name(), entry.kind(), dir);
    }
}
