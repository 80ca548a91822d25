package io.steergate.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.messages.GenerationRequest;
import io.steergate.messages.PolicyRef;
import io.steergate.messages.GenerationRequest.SteeringAsk;
import io.steergate.policy.PolicyStore.ReloadReport;
import io.steergate.policy.PolicyStore.UncoveredTenants;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PolicyStore: lookups by tenant, refused files keeping their previous version, reloadIfChanged, validation. */
class PolicyStoreTest {

    private static final InterventionCatalog CATALOG = PolicyEvaluatorTest.CATALOG;

    @TempDir
    Path dir;

    @Test
    void theShippedPoliciesCoverTheirTenantsAndDefaultTheRest() throws IOException {
        PolicyStore store = new PolicyStore(Path.of("policies"), CATALOG, UncoveredTenants.DEFAULT_POLICY);
        ReloadReport report = store.reload();
        assertEquals(List.of("default.yaml", "kids-platform.yaml", "moderated-stories.yaml", "monitored-stories.yaml",
                "reviewed-stories.yaml", "storytelling.yaml"), report.accepted());
        assertEquals(List.of(), report.refused());
        assertEquals("kids-platform", store.policyFor("kids-co").orElseThrow().id());
        assertEquals("storytelling", store.policyFor("story-app-beta").orElseThrow().id());
        assertEquals("default", store.policyFor("acme").orElseThrow().id());
        assertEquals("storytelling", store.policy("storytelling").orElseThrow().id());
        assertEquals(6, store.policies().size());
    }

    @Test
    void onlyPoliciesThatMayRegenerateOrWithholdHoldAStreamBack() throws IOException {
        PolicyStore store = new PolicyStore(Path.of("policies"), CATALOG, UncoveredTenants.DEFAULT_POLICY);
        store.reload();
        PolicyEngine engine = new PolicyEngine(store, CATALOG);
        assertTrue(engine.mayHoldBack(new PolicyRef("moderated-stories", null)), "a ladder, then withheld");
        assertTrue(engine.mayHoldBack(new PolicyRef("reviewed-stories", null)), "a ladder: the output may be generated again");
        assertFalse(engine.mayHoldBack(new PolicyRef("monitored-stories", null)), "scorers that only flag");
        assertFalse(engine.mayHoldBack(new PolicyRef("kids-platform", null)));
        assertFalse(engine.mayHoldBack(new PolicyRef("default", null)));
        assertFalse(engine.mayHoldBack(new PolicyRef("no-such-policy", null)));
        assertFalse(engine.mayHoldBack(null));
    }

    @Test
    void uncoveredTenantsCanBeRejectedInstead() throws IOException {
        PolicyStore store = new PolicyStore(Path.of("policies"), CATALOG, UncoveredTenants.REJECT);
        store.reload();
        assertEquals(Optional.empty(), store.policyFor("acme"));
        assertEquals("kids-platform", store.policyFor("kids-co").orElseThrow().id());

        Decision decision = new PolicyEngine(store, CATALOG).decide(request("acme"));
        assertNull(decision.policy());
        assertEquals("POLICY_DENIED", decision.rejection().code());
        assertEquals("no policy covers tenant 'acme'", decision.rejection().message());
    }

    @Test
    void withoutADefaultPolicyUncoveredTenantsAreRejected() throws IOException {
        write("a.yaml", "id: a\ntenants: [x]\n");
        PolicyStore store = new PolicyStore(dir, CATALOG, UncoveredTenants.DEFAULT_POLICY);
        store.reload();
        assertEquals(Optional.empty(), store.policyFor("y"));
    }

    @Test
    void aBrokenFileKeepsItsPreviousVersionInForce() throws IOException {
        write("a.yaml", "id: a\ntenants: [x]\nrules:\n  - name: r\n    apply: [{intervention: kindness, strength: 1}]\n");
        PolicyStore store = new PolicyStore(dir, CATALOG, UncoveredTenants.REJECT);
        store.reload();
        String v1 = store.policyFor("x").orElseThrow().version();

        write("a.yaml", "id: a\ntenants: [x]\nrules:\n  - name: r\n    apply: [{intervention: kindness, strength: 2}]\n");
        ReloadReport report = store.reload();
        assertEquals(List.of(), report.accepted());
        assertEquals(1, report.refused().size());
        assertEquals(v1, report.refused().get(0).keptVersion());
        assertEquals("a.yaml:5:48: rule 'r' apply.strength: strength must be in [0, 1], got 2", report.refused().get(0).errors().get(0).toString());
        assertEquals(v1, store.policyFor("x").orElseThrow().version());

        write("a.yaml", "id: a\ntenants: [x]\nrules:\n  - name: r\n    apply: [{intervention: kindness, strength: 0.5}]\n");
        assertEquals(List.of("a.yaml"), store.reload().accepted());
        assertEquals(0.5, store.policyFor("x").orElseThrow().rules().get(0).apply().get(0).strength());
    }

    @Test
    void aBrokenNewFileIsRefusedWithNothingKept() throws IOException {
        write("a.yaml", "id: a\ntenants: [x\n");
        PolicyStore store = new PolicyStore(dir, CATALOG, UncoveredTenants.REJECT);
        ReloadReport report = store.reload();
        assertEquals(1, report.refused().size());
        assertNull(report.refused().get(0).keptVersion());
        assertTrue(report.refused().get(0).errors().get(0).toString().startsWith("a.yaml:3:1: YAML syntax"), report.toString());
        assertEquals(Optional.empty(), store.policyFor("x"));
    }

    @Test
    void aTenantCoveredTwiceRefusesTheFileLoadedLater() throws IOException {
        write("a.yaml", "id: a\ntenants: [x]\n");
        write("b.yaml", "id: b\ntenants: [y, x]\n");
        PolicyStore store = new PolicyStore(dir, CATALOG, UncoveredTenants.REJECT);
        ReloadReport report = store.reload();
        assertEquals(List.of("a.yaml"), report.accepted());
        assertEquals("b.yaml:2:14: tenant 'x' is already covered by a.yaml:2:11", report.refused().get(0).errors().get(0).toString());
        assertEquals(Optional.empty(), store.policyFor("y"));

        // a policy already in force keeps its tenant even when a file sorting before it changes to claim it
        write("b.yaml", "id: b\ntenants: [y]\n");
        store.reload();
        write("a.yaml", "id: a\ntenants: [x, y]\n");
        report = store.reload();
        assertEquals(List.of("b.yaml"), report.unchanged());
        assertEquals("a.yaml:2:14: tenant 'y' is already covered by b.yaml:2:11", report.refused().get(0).errors().get(0).toString());
        assertTrue(report.refused().get(0).keptVersion().startsWith("sha256:"));
        assertEquals("b", store.policyFor("y").orElseThrow().id());
        assertEquals("a", store.policyFor("x").orElseThrow().id());
    }

    @Test
    void reloadIfChangedReloadsOnlyWhenAFileWasAddedChangedOrRemoved() throws IOException {
        write("a.yaml", "id: a\ntenants: [x]\n");
        PolicyStore store = new PolicyStore(dir, CATALOG, UncoveredTenants.REJECT);
        assertTrue(store.reloadIfChanged().changed());
        assertFalse(store.reloadIfChanged().changed());

        write("a.yaml", "id: a\ntenants: [x, z]\n");
        ReloadReport changed = store.reloadIfChanged();
        assertTrue(changed.changed());
        assertEquals(List.of("a.yaml"), changed.accepted());
        assertEquals("a", store.policyFor("z").orElseThrow().id());

        write("b.yaml", "id: b\ntenants: [y, y]\n");
        assertEquals(1, store.reloadIfChanged().refused().size());
        assertFalse(store.reloadIfChanged().changed(), "a refused file that did not change is not reloaded again");

        Files.delete(dir.resolve("a.yaml"));
        ReloadReport removed = store.reloadIfChanged();
        assertEquals(List.of("a.yaml"), removed.removed());
        assertEquals(Optional.empty(), store.policyFor("x"));
    }

    @Test
    void validateChecksAgainstThePoliciesInForceWithoutChangingThem() throws IOException {
        write("a.yaml", "id: a\ntenants: [x]\n");
        PolicyStore store = new PolicyStore(dir, CATALOG, UncoveredTenants.REJECT);
        store.reload();
        PolicyParser.Result clash = store.validate("b.yaml", "id: b\ntenants: [x]\n".getBytes());
        assertEquals(List.of("b.yaml:2:11: tenant 'x' is already covered by a.yaml:2:11"), clash.errors().stream().map(PolicyError::toString).toList());
        assertTrue(store.validate("a.yaml", "id: a\ntenants: [x, w]\n".getBytes()).ok(), "a file may keep its own tenants");
        assertEquals(Optional.empty(), store.policyFor("w"));
    }

    @Test
    void theBuiltInEngineDecidesWithTheDefaultPolicyAndAppliesNothing() {
        Decision decision = new PolicyEngine(null, InterventionCatalog.empty()).decide(new GenerationRequest("r", "acme", "p", 64, 0.0, 1.0, 1L,
                List.of("cheerful"), Map.of("channel", "kids"), List.of(new SteeringAsk("no-dogs", 0.5))));
        assertFalse(decision.isRejected());
        assertEquals("default", decision.policy().id());
        assertTrue(decision.policy().version().startsWith("sha256:"));
        assertEquals(List.of(), decision.plan());
    }

    private void write(String name, String content) throws IOException {
        Files.writeString(dir.resolve(name), content);
    }

    private static GenerationRequest request(String tenant) {
        return new GenerationRequest("r", tenant, "p", 64, 0.0, 1.0, 1L, null, null, null);
    }
}
