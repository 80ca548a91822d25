package io.steergate.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.eval.PromptSet;
import io.steergate.messages.PolicyRef;
import io.steergate.messages.ProbeRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Probe scorers ({@code type: probe}) in policies: parsed with their training sets' hashes, refused where wrong. */
class PolicyParserProbeTest {

    /** The test catalog, serving a model of 5 layers (stories260K's). */
    static final InterventionCatalog CATALOG = new InterventionCatalog() {
        @Override
        public boolean exists(String name) {
            return PolicyParserTest.CATALOG.exists(name);
        }

        @Override
        public Optional<Integer> activeVersion(String name) {
            return PolicyParserTest.CATALOG.activeVersion(name);
        }

        @Override
        public Set<String> sites(String name) {
            return Set.of();
        }

        @Override
        public OptionalInt modelLayers() {
            return OptionalInt.of(5);
        }
    };

    private final PolicyParser parser = new PolicyParser(Path.of("policies"), CATALOG);

    @Test
    void aProbeScorerNamesItsInterventionsPromptSetsByHash() throws IOException {
        PolicyParser.Result result = parser.parse("p.yaml", """
                id: p
                tenants: [a]
                scorers:
                  - {name: meanness, lexicon: lexicons/meanness.txt, threshold: 0.05}
                  - {name: meanness-probe, type: probe, intervention: kindness, site: layers.2.resid, threshold: 0.5}
                  - {name: sad-probe, type: probe, intervention: cheerful, site: layers.4.mlp_out}
                escalation: {onFailure: flag}
                """.getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of(), result.errors());
        List<Policy.ScorerSpec> scorers = result.policy().scorers();
        assertEquals(new Policy.ScorerSpec("meanness", "lexicons/meanness.txt", 0.05, null), scorers.get(0),
                "type defaults to lexicon");
        String source = PromptSet.read(Path.of("policies/prompts/kindness.source.jsonl")).sha256();
        String target = PromptSet.read(Path.of("policies/prompts/kindness.target.jsonl")).sha256();
        assertEquals(new Policy.ScorerSpec("meanness-probe", null, 0.5,
                new Policy.Probe("kindness", "layers.2.resid", source, target)), scorers.get(1));
        assertTrue(scorers.get(1).isProbe());
        assertEquals("layers.4.mlp_out", scorers.get(2).probe().site());
        assertEquals(null, scorers.get(2).threshold());
    }

    @Test
    void theEngineAsksWorkersForTheProbesAndScoresWithTheirProbabilities(@TempDir Path dir) throws IOException {
        Path policies = Files.createDirectories(dir.resolve("policies"));
        Files.createDirectories(policies.resolve("lexicons"));
        Files.createDirectories(policies.resolve("prompts"));
        Files.copy(Path.of("policies/lexicons/meanness.txt"), policies.resolve("lexicons/meanness.txt"));
        for (String side : List.of("source", "target")) {
            Files.copy(Path.of("policies/prompts/kindness." + side + ".jsonl"), policies.resolve("prompts/kindness." + side + ".jsonl"));
        }
        Files.writeString(policies.resolve("p.yaml"), """
                id: p
                tenants: [a]
                scorers:
                  - {name: meanness, lexicon: lexicons/meanness.txt, threshold: 0.05}
                  - {name: meanness-probe, type: probe, intervention: kindness, site: layers.2.resid, threshold: 0.5}
                """);
        PolicyStore store = new PolicyStore(policies, CATALOG, PolicyStore.UncoveredTenants.REJECT);
        store.reload();
        PolicyEngine engine = new PolicyEngine(store, CATALOG);
        engine.dir = policies;
        PolicyRef ref = new PolicyRef("p", store.policy("p").orElseThrow().version());

        List<ProbeRequest> probes = engine.probes(ref);
        assertEquals(1, probes.size());
        assertEquals("meanness-probe", probes.get(0).name());
        assertEquals("kindness", probes.get(0).intervention());
        assertEquals("layers.2.resid", probes.get(0).site());
        assertEquals(PromptSet.read(Path.of("policies/prompts/kindness.source.jsonl")).sha256(), probes.get(0).sourceSha256());

        Map<String, Double> scores = engine.score(ref, "Tom was kind.", Map.of("meanness-probe", 0.73, "other", 1.0));
        assertEquals(Map.of("meanness", 0.0, "meanness-probe", 0.73), scores, "the policy's scorers only");
        assertEquals(List.of("meanness-probe"), engine.flagged(ref, scores));
        assertEquals(List.of(), engine.flagged(ref, engine.score(ref, "Tom was kind.", Map.of("meanness-probe", 0.49))));
        assertFalse(engine.score(ref, "Tom was kind.", null).containsKey("meanness-probe"),
                "a probe the worker did not score has no score");
        assertFalse(engine.score(ref, "Tom was kind.", Map.of("meanness-probe", 7.0)).containsKey("meanness-probe"),
                "a probability outside [0, 1] is no score");
    }

    @Test
    void badProbeScorersAreReportedWhereWritten() {
        List<String> errors = errors("""
                id: p
                tenants: [a]
                scorers:
                  - {name: a, type: probe, intervention: unknown-one, site: layers.2.resid}
                  - {name: b, type: probe, intervention: kindness, site: layer.2.resid}
                  - {name: c, type: probe, intervention: kindness, site: layers.5.resid}
                  - {name: d, type: probe, intervention: kindness, site: layers.1.mlp}
                  - {name: e, type: classifier, lexicon: lexicons/meanness.txt}
                  - {name: f, type: probe, lexicon: lexicons/meanness.txt, intervention: kindness, site: layers.0.resid}
                  - {name: g, type: probe, intervention: kindness}
                  - {name: h, lexicon: lexicons/meanness.txt, site: layers.0.resid}
                  - {name: i, type: probe, intervention: gloomy, site: layers.0.resid, threshold: 1.5}
                """);
        assertEquals(List.of(
                "p.yaml:4:42: scorer intervention: unknown intervention 'unknown-one'",
                "p.yaml:5:58: scorer site: bad hook site 'layer.2.resid': expected layers.<i>.<point>",
                "p.yaml:6:58: scorer site: 'layers.5.resid' is beyond the served model's 5 layers",
                "p.yaml:7:58: scorer site: bad hook site 'layers.1.mlp': unknown hook point 'mlp'; expected one of attn_norm,"
                        + " attn_out, mlp_norm, mlp_out, resid",
                "p.yaml:8:21: scorer type: 'classifier' is not one of lexicon | probe",
                "p.yaml:9:28: scorer 'f': lexicon applies only to type: lexicon",
                "p.yaml:10:5: scorer: missing field 'site' (required with type: probe)",
                "p.yaml:11:47: scorer 'h': site applies only to type: probe",
                "p.yaml:12:42: scorer intervention: a probe trains on prompts/gloomy.source.jsonl (relative to policies),"
                        + " which does not exist",
                "p.yaml:12:83: scorer threshold must be in (0, 1] (a share of words or a probability), got 1.5"), errors);
    }

    @Test
    void aPolicyHasAtMostEightProbes() {
        StringBuilder yaml = new StringBuilder("id: p\ntenants: [a]\nscorers:\n");
        for (int i = 0; i < ProbeRequest.MAX_PER_JOB + 1; i++) {
            yaml.append("  - {name: p").append(i).append(", type: probe, intervention: kindness, site: layers.").append(i % 5)
                    .append(".resid}\n");
        }
        assertEquals(List.of("p.yaml:4:3: scorers: at most 8 of type probe (each is read off every generation)"),
                errors(yaml.toString()));
    }

    private List<String> errors(String yaml) {
        return parser.parse("p.yaml", yaml.getBytes(StandardCharsets.UTF_8)).errors().stream().map(PolicyError::toString).toList();
    }
}
