package io.steergate.bench;

import io.steergate.messages.GenerationRequest;
import io.steergate.messages.GenerationRequest.SteeringAsk;
import io.steergate.policy.Decision;
import io.steergate.policy.InterventionCatalog;
import io.steergate.policy.Policy;
import io.steergate.policy.PolicyEvaluator;
import io.steergate.policy.PolicyParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Cost of one policy decision: a 50-rule policy (label and style conditions, 8 styles, a site cap), parsed from
 * YAML, evaluated for 100,000 random requests after 100,000 warm-up evaluations; p50, p99 and mean per evaluation
 * from System.nanoTime around each call. A main, not a test.
 */
public final class PolicyBench {

    private static final int RULES = 50;
    private static final int STYLES = 8;
    private static final int INTERVENTIONS = 12;
    private static final int WARMUP = 100_000;
    private static final int MEASURED = 100_000;

    public static void main(String[] args) {
        Map<String, Integer> versions = new HashMap<>();
        Map<String, Set<String>> sites = new HashMap<>();
        for (int i = 0; i < INTERVENTIONS; i++) {
            versions.put("i" + i, 1);
            sites.put("i" + i, Set.of("layers." + (i % 4) + ".resid", "layers." + ((i + 1) % 4) + ".mlp_out"));
        }
        InterventionCatalog catalog = InterventionCatalog.of(versions, sites);
        Random random = new Random(42);
        String yaml = policyYaml(random);
        PolicyParser.Result parsed = new PolicyParser(Path.of("policies"), catalog).parse("bench.yaml", yaml.getBytes(StandardCharsets.UTF_8));
        if (!parsed.ok()) {
            throw new IllegalStateException("bench policy must parse: " + parsed.errors());
        }
        Policy policy = parsed.policy();
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 1024; i++) {
            requests.add(request(random));
        }

        long sink = 0;
        for (int i = 0; i < WARMUP; i++) {
            sink += PolicyEvaluator.evaluate(policy, requests.get(i & 1023), catalog).entries().size();
        }
        long[] nanos = new long[MEASURED];
        int rejected = 0;
        int entries = 0;
        for (int i = 0; i < MEASURED; i++) {
            GenerationRequest request = requests.get(i & 1023);
            long start = System.nanoTime();
            Decision decision = PolicyEvaluator.evaluate(policy, request, catalog);
            nanos[i] = System.nanoTime() - start;
            rejected += decision.isRejected() ? 1 : 0;
            entries += decision.entries().size();
        }
        Arrays.sort(nanos);
        double mean = Arrays.stream(nanos).average().orElse(0);
        System.out.printf(Locale.ROOT, "PolicyBench: %d rules, %d evaluations after %d warm-up (%d rejected, %.1f plan entries on average)%n",
                RULES, MEASURED, WARMUP, rejected, entries / (double) (MEASURED - rejected));
        System.out.printf(Locale.ROOT, "per evaluation: p50 %.2f us, p99 %.2f us, mean %.2f us, max %.2f us (sink %d)%n",
                nanos[MEASURED / 2] / 1e3, nanos[MEASURED * 99 / 100] / 1e3, mean / 1e3, nanos[MEASURED - 1] / 1e3, sink);
    }

    private static String policyYaml(Random random) {
        StringBuilder yaml = new StringBuilder("id: bench\ntenants: [bench]\nexplicitSteering: clamp\nexplicitMaxStrength: 0.5\nsiteStrengthCap: 1.5\nstyles:\n");
        for (int s = 0; s < STYLES; s++) {
            yaml.append("  s").append(s).append(": {intervention: i").append(s).append(", defaultStrength: 0.5, maxStrength: 0.8}\n");
        }
        yaml.append("rules:\n");
        for (int r = 0; r < RULES; r++) {
            yaml.append("  - name: rule-").append(r).append('\n');
            if (r % 3 == 0) {
                yaml.append("    when: {styles: [s").append(random.nextInt(STYLES)).append(", s").append(random.nextInt(STYLES)).append("]}\n");
            } else {
                yaml.append("    when: {labels: {k").append(random.nextInt(5)).append(": [v").append(random.nextInt(4))
                        .append(", v").append(random.nextInt(4)).append("], k").append(5 + random.nextInt(3)).append(": v")
                        .append(random.nextInt(4)).append("}}\n");
            }
            yaml.append("    apply: [{intervention: i").append(random.nextInt(INTERVENTIONS)).append(", strength: ")
                    .append(Math.round(random.nextDouble() * 100) / 100.0).append("}]\n");
        }
        return yaml.toString();
    }

    private static GenerationRequest request(Random random) {
        Map<String, String> labels = new HashMap<>();
        for (int k = 0; k < 8; k++) {
            if (random.nextInt(3) > 0) {
                labels.put("k" + k, "v" + random.nextInt(4));
            }
        }
        List<String> styles = new ArrayList<>();
        for (int s = random.nextInt(3); s > 0; s--) {
            styles.add("s" + random.nextInt(STYLES));
        }
        List<SteeringAsk> asks = random.nextInt(4) == 0 ? List.of(new SteeringAsk("i" + random.nextInt(INTERVENTIONS), 0.9)) : List.of();
        return new GenerationRequest("r", "bench", "p", 64, 0.0, 1.0, 1L, styles, labels, asks);
    }
}
