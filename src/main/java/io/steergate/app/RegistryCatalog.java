package io.steergate.app;

import io.steergate.intervention.InterventionRegistry;
import io.steergate.policy.InterventionCatalog;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The policy engine's view of the intervention registry. Checked against PostgreSQL in every decision's transaction
 * (InterventionRegistry's cache), so a promotion takes effect for the next request on every gateway.
 */
@ApplicationScoped
public class RegistryCatalog implements InterventionCatalog {

    @Inject
    InterventionRegistry registry;

    @Override
    public boolean exists(String name) {
        return registry.exists(name);
    }

    @Override
    public Optional<Integer> activeVersion(String name) {
        return registry.activeVersion(name);
    }

    @Override
    public Set<String> sites(String name) {
        return new LinkedHashSet<>(registry.activeSites(name));
    }

    @Override
    public OptionalInt modelLayers() {
        return registry.servedModels().stream().mapToInt(InterventionRegistry.ServedModelSummary::layers).min();
    }
}
