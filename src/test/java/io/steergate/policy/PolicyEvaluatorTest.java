package io.steergate.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.messages.AppliedIntervention;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.GenerationRequest;
import io.steergate.messages.GenerationRequest.SteeringAsk;
import io.steergate.messages.PolicyRef;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** PolicyEvaluator: every rule condition, explicit mode, style limit, conflict, repeat, the site cap, unknown interventions. */
class PolicyEvaluatorTest {

    static final InterventionCatalog CATALOG = InterventionCatalog.of(
            Map.of("kindness", 3, "no-dogs", 2, "cheerful", 1, "gloomy", 4),
            Map.of("kindness", Set.of("layers.0.resid", "layers.1.resid"),
                    "no-dogs", Set.of("layers.1.resid"),
                    "cheerful", Set.of("layers.2.resid"),
                    "gloomy", Set.of("layers.2.resid")));

    private static final Policy KIDS = parse(Path.of("policies/kids-platform.yaml"));
    private static final Policy STORY = parse(Path.of("policies/storytelling.yaml"));

    // ---- rule conditions ----

    @Test
    void kidsPlatformIsAlwaysKindAndDropsDogsOnTheKidsChannel() {
        Decision kids = PolicyEvaluator.evaluate(KIDS, request("kids-co", List.of(), Map.of("channel", "kids"), List.of()), CATALOG);
        assertEquals(List.of(new PlanEntry("kindness", 3, 1.0, "rule:always-kind"),
                new PlanEntry("no-dogs", 2, 0.8, "rule:kids-channel-no-dogs")), kids.entries());
        assertEquals(new PolicyRef("kids-platform", KIDS.version()), kids.policy());
        assertEquals(List.of("rule always-kind matched (no condition)", "rule kids-channel-no-dogs matched"), kids.trace());
        assertEquals(List.of(new AppliedIntervention("kindness", 3, 1.0), new AppliedIntervention("no-dogs", 2, 0.8)), kids.plan());

        Decision adults = PolicyEvaluator.evaluate(KIDS, request("kids-co", List.of(), Map.of("channel", "adults"), List.of()), CATALOG);
        assertEquals(List.of(new PlanEntry("kindness", 3, 1.0, "rule:always-kind")), adults.entries());
        assertEquals("rule kids-channel-no-dogs skipped: labels.channel is 'adults'", adults.trace().get(1));

        Decision none = PolicyEvaluator.evaluate(KIDS, request("kids-co", null, null, null), CATALOG);
        assertEquals(List.of("kindness"), names(none));
        assertEquals("rule kids-channel-no-dogs skipped: labels.channel absent", none.trace().get(1));
    }

    @Test
    void labelConditionsMustAllMatchEachWithAValueOrOneOfAList() {
        Policy policy = policy("""
                rules:
                  - name: family
                    when: {labels: {channel: [kids, family], age: under-8}}
                    apply: [{intervention: no-dogs, strength: 0.5}]
                """);
        assertEquals(List.of("no-dogs"), names(evaluate(policy, List.of(), Map.of("channel", "family", "age", "under-8"), List.of())));
        assertEquals(List.of("no-dogs"), names(evaluate(policy, List.of(), Map.of("channel", "kids", "age", "under-8", "x", "y"), List.of())));
        assertEquals(List.of(), names(evaluate(policy, List.of(), Map.of("channel", "family"), List.of())));
        assertEquals(List.of(), names(evaluate(policy, List.of(), Map.of("channel", "news", "age", "under-8"), List.of())));
    }

    @Test
    void styleTenantAndSteeringConditions() {
        Policy policy = policy("""
                explicitSteering: allow
                styles:
                  cheerful: {intervention: cheerful}
                  gloomy: {intervention: gloomy}
                rules:
                  - name: moody
                    when: {styles: [cheerful, gloomy]}
                    apply: [{intervention: kindness, strength: 0.4}]
                  - name: beta-only
                    when: {tenants: [t-beta]}
                    apply: [{intervention: no-dogs, strength: 0.3}]
                  - name: asked-no-dogs
                    when: {steering: [no-dogs]}
                    apply: [{intervention: kindness, strength: 0.7}]
                """);
        assertEquals(List.of("kindness", "gloomy"), names(evaluate(policy, List.of("gloomy"), Map.of(), List.of())));
        assertEquals(List.of(), names(evaluate(policy, List.of(), Map.of(), List.of())));
        assertEquals(List.of("no-dogs"), names(PolicyEvaluator.evaluate(policy, request("t-beta", null, null, null), CATALOG)));
        Decision asked = evaluate(policy, List.of(), Map.of(), List.of(new SteeringAsk("no-dogs", 0.2)));
        assertEquals(List.of(new PlanEntry("kindness", 3, 0.7, "rule:asked-no-dogs"), new PlanEntry("no-dogs", 2, 0.2, "explicit")), asked.entries());
        assertTrue(asked.trace().contains("rule beta-only skipped: tenant 't' not listed"), asked.trace().toString());
    }

    // ---- styles ----

    @Test
    void styleStrengthDefaultsAndIsLimitedByItsMaximum() {
        assertEquals(List.of(new PlanEntry("cheerful", 1, 0.6, "style:cheerful")), evaluate(STORY, List.of("cheerful"), null, null).entries());
        assertEquals(0.7, evaluate(STORY, List.of("cheerful:0.7"), null, null).entries().get(0).strength());
        Decision high = evaluate(STORY, List.of("cheerful:0.95"), null, null);
        assertEquals(0.8, high.entries().get(0).strength());
        assertEquals(List.of("style cheerful asked at 0.95: clamped to its maxStrength 0.8"), high.trace());
        Decision twice = evaluate(STORY, List.of("cheerful:0.3", "cheerful"), null, null);
        assertEquals(List.of(new PlanEntry("cheerful", 1, 0.3, "style:cheerful")), twice.entries());
    }

    @Test
    void aStyleNotOfferedIsRejectedOrDropped() {
        assertRejected(evaluate(STORY, List.of("cheerful", "gloomy"), null, null), "STYLE_NOT_ALLOWED",
                "style 'gloomy' is not allowed by policy 'storytelling' (offered: cheerful)");
        assertRejected(evaluate(KIDS, List.of("cheerful"), null, null), "STYLE_NOT_ALLOWED",
                "style 'cheerful' is not allowed by policy 'kids-platform' (offered: none)");
        Decision dropped = evaluate(policy("disallowedStyles: drop\n"), List.of("cheerful"), null, null);
        assertFalse(dropped.isRejected());
        assertEquals(List.of("style cheerful dropped: not offered (disallowedStyles: drop)"), dropped.trace());
    }

    @Test
    void aMalformedStyleStrengthIsAnInvalidRequest() {
        assertRejected(evaluate(STORY, List.of("cheerful:lots"), null, null), "INVALID_REQUEST",
                "styles[0]: the strength after ':' must be a number in [0, 1], got 'lots'");
        assertRejected(evaluate(STORY, List.of("cheerful", "cheerful:1.5"), null, null), "INVALID_REQUEST",
                "styles[1]: the strength after ':' must be a number in [0, 1], got '1.5'");
    }

    @Test
    void contradictingStylesAreRejectedNamingBoth() {
        Policy policy = policy("""
                styles:
                  cheerful: {intervention: cheerful}
                  gloomy: {intervention: gloomy}
                conflicts: [[cheerful, gloomy]]
                """);
        assertRejected(evaluate(policy, List.of("gloomy", "cheerful"), null, null), "STYLE_CONFLICT",
                "styles 'gloomy' and 'cheerful' contradict each other under policy 'p'");
        assertEquals(List.of("cheerful"), names(evaluate(policy, List.of("cheerful"), null, null)));
    }

    // ---- explicit asks ----

    @Test
    void explicitAllowTakesTheAskAsItIsWithFullStrengthByDefault() {
        Policy policy = policy("explicitSteering: allow\n");
        Decision decision = evaluate(policy, null, null, List.of(new SteeringAsk("no-dogs", null), new SteeringAsk("cheerful", 0.3)));
        assertEquals(List.of(new PlanEntry("no-dogs", 2, 1.0, "explicit"), new PlanEntry("cheerful", 1, 0.3, "explicit")), decision.entries());
    }

    @Test
    void explicitClampLowersToTheMaximum() {
        Decision decision = evaluate(STORY, null, null, List.of(new SteeringAsk("no-dogs", 0.9), new SteeringAsk("kindness", 0.2),
                new SteeringAsk("cheerful", null)));
        assertEquals(List.of(new PlanEntry("no-dogs", 2, 0.5, "explicit"), new PlanEntry("kindness", 3, 0.2, "explicit"),
                new PlanEntry("cheerful", 1, 0.5, "explicit")), decision.entries());
        assertEquals(List.of("explicit no-dogs asked at 0.9: clamped to 0.5", "explicit cheerful asked at 1.0: clamped to 0.5"), decision.trace());
    }

    @Test
    void explicitDenyRejectsNamingTheIntervention() {
        assertRejected(evaluate(KIDS, null, Map.of("channel", "kids"), List.of(new SteeringAsk("kindness", 0.1))), "POLICY_DENIED",
                "explicit steering with 'kindness' is denied by policy 'kids-platform'");
    }

    @Test
    void explicitDropLeavesTheAskOut() {
        Decision decision = evaluate(policy("explicitSteering: drop\n"), null, null, List.of(new SteeringAsk("no-dogs", 0.4)));
        assertFalse(decision.isRejected());
        assertEquals(List.of(), decision.entries());
        assertEquals(List.of("explicit no-dogs dropped (explicitSteering: drop)"), decision.trace());
    }

    // ---- repeats, versions, the cap ----

    @Test
    void anInterventionChosenTwiceKeepsItsFirstPlaceAndTheLargestStrength() {
        Policy policy = policy("""
                explicitSteering: allow
                rules:
                  - name: a
                    apply: [{intervention: kindness, strength: 0.3}, {intervention: no-dogs, strength: 0.9}]
                """);
        Decision decision = evaluate(policy, null, null, List.of(new SteeringAsk("no-dogs", 0.5), new SteeringAsk("kindness", 0.8)));
        assertEquals(List.of(new PlanEntry("kindness", 3, 0.8, "explicit"), new PlanEntry("no-dogs", 2, 0.9, "rule:a")), decision.entries());
        assertEquals(List.of("rule a matched (no condition)",
                "no-dogs chosen again by explicit at 0.5: kept 0.9 (rule:a)",
                "kindness chosen again by explicit at 0.8: kept 0.8 over 0.3 (rule:a)"), decision.trace());
    }

    @Test
    void siteCapScalesTheEntriesTouchingAnOverfullSite() {
        // kindness 1.0 at {L0, L1}, no-dogs 0.8 at {L1}, cheerful 0.6 at {L2}; cap 1.5.
        // L1 sums 1.8 > 1.5: factor 1.5 / 1.8 = 0.833333 for kindness and no-dogs; L0 and L2 are under the cap.
        Policy policy = policy("""
                siteStrengthCap: 1.5
                styles:
                  cheerful: {intervention: cheerful, defaultStrength: 0.6}
                rules:
                  - name: a
                    apply: [{intervention: kindness, strength: 1.0}, {intervention: no-dogs, strength: 0.8}]
                """);
        Decision decision = evaluate(policy, List.of("cheerful"), null, null);
        assertStrengths(decision, 0.833333, 0.666667, 0.6);
        assertEquals("site layers.1.resid: summed strength 1.8000 above cap 1.5000: kindness, no-dogs scaled by at most 0.8333",
                decision.trace().get(1));
    }

    @Test
    void anEntryTouchingTwoOverfullSitesTakesTheSmallerFactor() {
        // a 0.6 at {s1, s2}, b 0.9 at {s1}, c 0.8 at {s2}; cap 1.0. s1 sums 1.5 -> 2/3; s2 sums 1.4 -> 5/7.
        // a takes min(2/3, 5/7) = 2/3 -> 0.4; b 0.9 * 2/3 = 0.6; c 0.8 * 5/7 = 0.571429. Then s1 = 1.0, s2 = 0.971429.
        InterventionCatalog catalog = InterventionCatalog.of(Map.of("a", 1, "b", 1, "c", 1),
                Map.of("a", Set.of("s1", "s2"), "b", Set.of("s1"), "c", Set.of("s2")));
        PolicyParser parser = new PolicyParser(Path.of("policies"), catalog);
        Policy policy = parser.parse("p.yaml", """
                id: p
                tenants: [t]
                siteStrengthCap: 1.0
                rules:
                  - name: r
                    apply: [{intervention: a, strength: 0.6}, {intervention: b, strength: 0.9}, {intervention: c, strength: 0.8}]
                """.getBytes(StandardCharsets.UTF_8)).policy();
        assertStrengths(PolicyEvaluator.evaluate(policy, request("t", null, null, null), catalog), 0.4, 0.6, 0.571429);
    }

    @Test
    void anInterventionWithoutAnActiveVersionIsRejectedNamingIt() {
        assertRejected(evaluate(policy("explicitSteering: allow\n"), null, null, List.of(new SteeringAsk("no-cats", 0.5))),
                "UNKNOWN_INTERVENTION", "no active version of intervention no-cats (explicit)");
        InterventionCatalog retired = InterventionCatalog.of(Map.of("no-dogs", 2), Map.of());
        Decision decision = PolicyEvaluator.evaluate(KIDS, request("kids-co", null, null, null), retired);
        assertRejected(decision, "UNKNOWN_INTERVENTION", "no active version of intervention kindness (rule:always-kind)");
        assertEquals(new PolicyRef("kids-platform", KIDS.version()), decision.policy());
        assertEquals(List.of(), decision.plan());
    }

    @Test
    void theSameInputGivesAnEqualDecision() {
        GenerationRequest request = request("story-app", List.of("cheerful:0.7"), Map.of("a", "b"), List.of(new SteeringAsk("kindness", 0.9)));
        assertEquals(PolicyEvaluator.evaluate(STORY, request, CATALOG), PolicyEvaluator.evaluate(STORY, request, CATALOG));
    }

    // ---- helpers ----

    static Policy parse(Path file) {
        PolicyParser.Result result = new PolicyParser(Path.of("policies"), CATALOG).parse(file);
        assertEquals(List.of(), result.errors());
        return result.policy();
    }

    /** A policy "p" for tenant "t" with the given YAML lines after id and tenants. */
    // ---- escalation rungs and counterfactual sampling ----

    @Test
    void aRungRaisesAndAddsOnTopOfTheDecidedPlanUnderTheSiteCap() {
        Policy policy = policy("""
                siteStrengthCap: 2.0
                rules:
                  - name: kind
                    apply: [{intervention: kindness, strength: 0.5}]
                  - name: kids
                    when: {labels: {channel: kids}}
                    apply: [{intervention: no-dogs, strength: 0.8}]
                scorers:
                  - {name: meanness, lexicon: lexicons/meanness.txt, threshold: 0.05}
                escalation:
                  rungs:
                    - apply: [{intervention: kindness, strength: 1.5}]
                    - apply: [{intervention: kindness, strength: 0.2}, {intervention: cheerful, strength: 3.0}]
                  onFailure: withhold
                """);
        GenerationRequest kids = request("t", List.of(), Map.of("channel", "kids"), List.of());

        Decision rung1 = PolicyEvaluator.evaluate(policy, kids, CATALOG, 1);
        // layers.1.resid: kindness 1.5 + no-dogs 0.8 = 2.3 > 2.0, both scaled by 2.0 / 2.3
        assertEquals(List.of(new PlanEntry("kindness", 3, 1.5 * 2.0 / 2.3, "escalation:1"),
                new PlanEntry("no-dogs", 2, 0.8 * 2.0 / 2.3, "rule:kids")), rung1.entries());
        assertTrue(rung1.trace().contains("escalation rung 1 of 2"), rung1.trace().toString());

        Decision rung2 = PolicyEvaluator.evaluate(policy, kids, CATALOG, 2);
        // a rung stands on the decided plan, not on the rung below: kindness keeps the rule's 0.5 over the rung's 0.2
        assertEquals(List.of(new PlanEntry("kindness", 3, 0.5, "rule:kind"), new PlanEntry("no-dogs", 2, 0.8, "rule:kids"),
                new PlanEntry("cheerful", 1, 2.0, "escalation:2")), rung2.entries());

        assertEquals(PolicyEvaluator.evaluate(policy, kids, CATALOG), PolicyEvaluator.evaluate(policy, kids, CATALOG, 0));
        try {
            PolicyEvaluator.evaluate(policy, kids, CATALOG, 3);
            throw new AssertionError("no rung 3");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("no escalation rung 3"), expected.getMessage());
        }
    }

    @Test
    void theFirstMatchedRuleWithACounterfactualDecidesTheSampling() {
        Policy policy = policy("""
                rules:
                  - name: plain
                    apply: [{intervention: kindness, strength: 0.5}]
                  - name: sampled
                    when: {labels: {channel: review}}
                    apply: [{intervention: kindness, strength: 0.5}]
                    counterfactual: {share: 1.0, deliver: true}
                  - name: fallback
                    apply: [{intervention: no-dogs, strength: 0.5}]
                    counterfactual: {share: 0, deliver: false}
                """);
        Decision review = evaluate(policy, List.of(), Map.of("channel", "review"), List.of());
        assertEquals(new Policy.Counterfactual(1.0, true), review.counterfactual());
        assertTrue(review.counterfactualDrawn(7L));
        assertTrue(review.trace().contains("rule sampled samples counterfactuals: share 1.0, delivered"), review.trace().toString());

        Decision other = evaluate(policy, List.of(), Map.of(), List.of());
        assertEquals(new Policy.Counterfactual(0.0, false), other.counterfactual());
        assertFalse(other.counterfactualDrawn(7L));

        assertNull(PolicyEvaluator.evaluate(KIDS, request("kids-co", null, null, null), CATALOG).counterfactual());
        assertFalse(PolicyEvaluator.evaluate(KIDS, request("kids-co", null, null, null), CATALOG).counterfactualDrawn(7L));
    }

    static Policy policy(String rest) {
        PolicyParser.Result result = new PolicyParser(Path.of("policies"), CATALOG)
                .parse("p.yaml", ("id: p\ntenants: [t, t-beta]\n" + rest).getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of(), result.errors());
        return result.policy();
    }

    static GenerationRequest request(String tenant, List<String> styles, Map<String, String> labels, List<SteeringAsk> steering) {
        return new GenerationRequest("r1", tenant, "Once upon a time", 64, 0.0, 1.0, 7L, styles, labels, steering);
    }

    private static Decision evaluate(Policy policy, List<String> styles, Map<String, String> labels, List<SteeringAsk> steering) {
        return PolicyEvaluator.evaluate(policy, request(policy.tenants().get(0), styles, labels, steering), CATALOG);
    }

    private static List<String> names(Decision decision) {
        assertNull(decision.rejection(), () -> "unexpected rejection " + decision.rejection());
        return decision.entries().stream().map(PlanEntry::intervention).toList();
    }

    private static void assertRejected(Decision decision, String code, String message) {
        assertTrue(decision.isRejected(), () -> "expected a rejection, got " + decision);
        assertEquals(new ErrorInfo(code, message), decision.rejection());
        assertEquals(List.of(), decision.entries());
        assertEquals("rejected: " + code + ": " + message, decision.trace().get(decision.trace().size() - 1));
    }

    private static void assertStrengths(Decision decision, double... expected) {
        double[] actual = decision.entries().stream().mapToDouble(PlanEntry::strength).toArray();
        assertEquals(expected.length, actual.length, () -> Arrays.toString(actual));
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-6, "entry " + i + " of " + Arrays.toString(actual));
        }
    }
}
