package io.steergate.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.messages.GenerationRequest;
import io.steergate.messages.GenerationRequest.SteeringAsk;
import io.steergate.policy.Policy.Application;
import io.steergate.policy.Policy.Condition;
import io.steergate.policy.Policy.DisallowedStyles;
import io.steergate.policy.Policy.ExplicitSteering;
import io.steergate.policy.Policy.Rule;
import io.steergate.policy.Policy.StyleGrant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Invariants of PolicyEvaluator over random policies and random requests (seeded java.util.Random, so a failure
 * names a reproducible seed): strengths in [0, 1], no site sum above the cap, deny never plans an explicit entry,
 * every entry pinned to the catalog's version, no intervention twice, and the same input gives the same decision.
 */
class PolicyPropertiesTest {

    private static final List<String> INTERVENTIONS = List.of("i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7");
    private static final List<String> STYLES = List.of("s0", "s1", "s2", "s3");
    private static final List<String> LABEL_KEYS = List.of("channel", "age", "region");
    private static final List<String> LABEL_VALUES = List.of("a", "b", "c");
    private static final int POLICIES = 20;
    private static final int REQUESTS_PER_POLICY = 1_000;

    @Test
    void randomRequestsAgainstRandomPoliciesKeepTheInvariants() {
        int planned = 0;
        int rejected = 0;
        int capped = 0;
        for (long seed = 1; seed <= POLICIES; seed++) {
            Random random = new Random(seed);
            InterventionCatalog catalog = catalog(random);
            Policy policy = policy(random, catalog);
            for (int i = 0; i < REQUESTS_PER_POLICY; i++) {
                GenerationRequest request = request(random);
                Decision decision = PolicyEvaluator.evaluate(policy, request, catalog);
                String where = "seed " + seed + ", request " + i + ": " + request + " -> " + decision;
                check(policy, catalog, decision, where);
                assertEquals(decision, PolicyEvaluator.evaluate(policy, request, catalog), where);
                planned += decision.isRejected() ? 0 : 1;
                rejected += decision.isRejected() ? 1 : 0;
                capped += decision.trace().stream().anyMatch(step -> step.contains("above cap")) ? 1 : 0;
            }
        }
        // the generator must reach every branch the invariants are about, or the test proves little
        assertTrue(planned > 1_000 && rejected > 1_000 && capped > 500, planned + " planned, " + rejected + " rejected, " + capped + " capped");
    }

    private static void check(Policy policy, InterventionCatalog catalog, Decision decision, String where) {
        if (decision.isRejected()) {
            assertEquals(List.of(), decision.entries(), where);
            return;
        }
        Map<String, Double> sums = new HashMap<>();
        Set<String> seen = new HashSet<>();
        for (PlanEntry entry : decision.entries()) {
            assertTrue(entry.strength() >= 0 && entry.strength() <= 1, where);
            assertTrue(seen.add(entry.intervention()), "twice: " + where);
            assertEquals(catalog.activeVersion(entry.intervention()).orElseThrow(), entry.version(), where);
            if (policy.explicitSteering() == ExplicitSteering.DENY || policy.explicitSteering() == ExplicitSteering.DROP) {
                assertTrue(!entry.reason().equals("explicit"), where);
            }
            for (String site : catalog.sites(entry.intervention())) {
                sums.merge(site, entry.strength(), Double::sum);
            }
        }
        for (double sum : sums.values()) {
            assertTrue(sum <= policy.siteStrengthCap() + 1e-9, "site sum " + sum + ": " + where);
        }
    }

    /** i0..i6 active at 1-3 random sites of 4; i7 is unknown, so some plans must be rejected. */
    private static InterventionCatalog catalog(Random random) {
        Map<String, Integer> versions = new HashMap<>();
        Map<String, Set<String>> sites = new HashMap<>();
        for (String name : INTERVENTIONS.subList(0, 7)) {
            versions.put(name, 1 + random.nextInt(5));
            Set<String> touched = new HashSet<>();
            for (int k = 1 + random.nextInt(3); k > 0; k--) {
                touched.add("layers." + random.nextInt(4) + ".resid");
            }
            sites.put(name, touched);
        }
        return InterventionCatalog.of(versions, sites);
    }

    private static Policy policy(Random random, InterventionCatalog catalog) {
        Map<String, StyleGrant> styles = new LinkedHashMap<>();
        for (String style : STYLES.subList(0, 1 + random.nextInt(STYLES.size() - 1))) {
            double max = random.nextDouble();
            styles.put(style, new StyleGrant(style, INTERVENTIONS.get(random.nextInt(7)), max * random.nextDouble(), max));
        }
        List<Set<String>> conflicts = styles.size() >= 2 ? List.of(Set.of(STYLES.get(0), STYLES.get(1))) : List.of();
        List<Rule> rules = new ArrayList<>();
        for (int r = random.nextInt(8); r > 0; r--) {
            Map<String, Set<String>> labels = new HashMap<>();
            if (random.nextBoolean()) {
                labels.put(pick(random, LABEL_KEYS), Set.of(pick(random, LABEL_VALUES)));
            }
            Set<String> styleCondition = random.nextInt(4) == 0 ? Set.of(pick(random, List.copyOf(styles.keySet()))) : Set.of();
            List<Application> apply = new ArrayList<>();
            for (int a = 1 + random.nextInt(3); a > 0; a--) {
                apply.add(new Application(INTERVENTIONS.get(random.nextInt(7)), random.nextDouble()));
            }
            rules.add(new Rule("r" + rules.size(), new Condition(labels, styleCondition, Set.of(), Set.of()), apply));
        }
        ExplicitSteering explicit = ExplicitSteering.values()[random.nextInt(ExplicitSteering.values().length)];
        double cap = random.nextBoolean() ? Double.POSITIVE_INFINITY : 0.2 + 2 * random.nextDouble();
        DisallowedStyles disallowed = random.nextBoolean() ? DisallowedStyles.REJECT : DisallowedStyles.DROP;
        return new Policy("p", "sha256:0", "p.yaml", "", List.of("t"), explicit, random.nextDouble(), cap, disallowed,
                styles, conflicts, rules, List.of(), Policy.ReviewSampling.NONE, Policy.Escalation.NONE, List.of());
    }

    private static GenerationRequest request(Random random) {
        List<String> styles = new ArrayList<>();
        for (int s = random.nextInt(3); s > 0; s--) {
            String style = pick(random, STYLES);
            styles.add(random.nextBoolean() ? style : style + ":" + Math.round(random.nextDouble() * 100) / 100.0);
        }
        Map<String, String> labels = new HashMap<>();
        for (String key : LABEL_KEYS) {
            if (random.nextBoolean()) {
                labels.put(key, pick(random, LABEL_VALUES));
            }
        }
        List<SteeringAsk> asks = new ArrayList<>();
        for (int a = random.nextInt(4) == 0 ? 1 + random.nextInt(2) : 0; a > 0; a--) {
            // i7 is unknown to the catalog now and then
            String name = random.nextInt(10) == 0 ? "i7" : INTERVENTIONS.get(random.nextInt(7));
            asks.add(new SteeringAsk(name, random.nextBoolean() ? null : random.nextDouble()));
        }
        return new GenerationRequest("r", "t", "p", 64, 0.0, 1.0, 1L, styles, labels, asks);
    }

    private static <T> T pick(Random random, List<T> items) {
        return items.get(random.nextInt(items.size()));
    }
}
