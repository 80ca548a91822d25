package io.steergate.policy;

import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * What the policy engine needs to know about stored interventions: the parser checks names, the evaluator pins the
 * active version and reads the hook sites for the site strength cap. The intervention registry implements it.
 */
public interface InterventionCatalog {

    /** Whether an intervention of this name is registered (with or without an active version). */
    boolean exists(String name);

    /** The version currently promoted for generation, or empty when none is (or the name is unknown). */
    Optional<Integer> activeVersion(String name);

    /** The hook sites ({@code layers.<i>.<point>}) the active version's map touches; empty when unknown. */
    Set<String> sites(String name);

    /**
     * The fewest layers of any model a worker serves (a probe scorer's site must lie within them); empty when no model
     * is registered yet, or the catalog does not know.
     */
    default OptionalInt modelLayers() {
        return OptionalInt.empty();
    }

    /** A fixed catalog: interventions with an active version, and their sites (a name missing there has none). */
    static InterventionCatalog of(Map<String, Integer> activeVersions, Map<String, Set<String>> sites) {
        Map<String, Integer> versions = Map.copyOf(activeVersions);
        Map<String, Set<String>> siteMap = Map.copyOf(sites);
        return new InterventionCatalog() {
            @Override
            public boolean exists(String name) {
                return versions.containsKey(name);
            }

            @Override
            public Optional<Integer> activeVersion(String name) {
                return Optional.ofNullable(versions.get(name));
            }

            @Override
            public Set<String> sites(String name) {
                return siteMap.getOrDefault(name, Set.of());
            }
        };
    }

    /** A catalog that knows no intervention (the built-in default policy applies none). */
    static InterventionCatalog empty() {
        return of(Map.of(), Map.of());
    }
}
