package io.steergate.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The package rules of docs/architecture.md 3, read off the import lines of src/main/java: the steering engine stays
 * free of Quarkus, Jakarta and Kafka; messages stay plain records; flows only point forward, so no cycle can form.
 */
class PackageRulesTest {

    private static final Path SOURCES = Path.of("src/main/java/io/steergate");
    private static final Pattern IMPORT = Pattern.compile("^import (?:static )?([\\w.*]+);", Pattern.MULTILINE);

    /** Which io.steergate packages each package may import (its own package always). */
    private static final Map<String, Set<String>> INTERNAL = Map.ofEntries(
            Map.entry("engine.model", Set.of()),
            Map.entry("engine.steering", Set.of("engine.model")),
            Map.entry("engine.training", Set.of("engine.model", "engine.steering", "engine.eval")),
            Map.entry("engine.eval", Set.of("engine.model", "engine.steering")),
            Map.entry("messages", Set.of()),
            Map.entry("resilience", Set.of("messages")),
            // engine.training: a policy's retraining triggers name a method, checked against InterventionMethods
            // policy -> engine.steering: a probe scorer's site is checked with HookSite
            Map.entry("policy", Set.of("engine.eval", "engine.training", "engine.steering", "messages", "resilience",
                    "security", "role")),
            Map.entry("audit", Set.of("messages", "security", "role")),
            Map.entry("outbox", Set.of("messages", "resilience", "kafka", "role")),
            // gateway -> kafka: the Kafka mode and the per-tenant topic names route results and dead letters
            Map.entry("gateway", Set.of("policy", "audit", "outbox", "messages", "resilience", "security", "kafka", "role")),
            Map.entry("intervention", Set.of("engine.steering", "messages", "security")),
            // worker -> engine.eval: the probe scorers a job asks for are trained and applied there
            Map.entry("worker", Set.of("intervention", "engine.model", "engine.steering", "engine.eval", "messages",
                    "resilience", "kafka", "role")),
            Map.entry("retraining", Set.of("audit", "policy", "intervention", "outbox", "engine.training", "engine.eval",
                    "engine.model", "engine.steering", "messages", "resilience", "security", "role")),
            // cli -> audit: `steer audit verify-export` checks bundles with the audit package's plain classes (no database)
            // cli -> kafka: `steer kafka` provisions users, ACLs and tenant topics with the kafka package's plain classes
            Map.entry("cli", Set.of("engine.model", "engine.steering", "engine.training", "engine.eval", "audit", "kafka")),
            // the reviewers' web UI: reads and reviews through audit, queues by policy, charts with engine.eval; pages only,
            // so nothing imports it. review -> retraining, intervention: the operators' pages show jobs and approve
            // versions through the same services as the API
            Map.entry("review", Set.of("audit", "policy", "security", "engine.eval", "messages", "retraining", "intervention")),
            Map.entry("app", Set.of("gateway", "worker", "intervention", "policy", "audit", "outbox", "messages", "resilience",
                    "security", "role")),
            // credentials, roles and tenants of HTTP callers: every resource asks it who is calling; it asks no one
            Map.entry("security", Set.of("messages", "resilience", "role")),
            // the kafka.* settings (bootstrap servers, security) every hand-built Kafka client starts from, and the
            // per-tenant topic names (kafka -> messages: a tenant's shape)
            Map.entry("kafka", Set.of("messages")),
            // which roles this process plays (steergate.role.*): read by the start-up work of every role, so it is a
            // leaf of its own; messages (no framework) and resilience (audit may not import it) cannot hold it
            Map.entry("role", Set.of()),
            // the OpenAI-compatible door: maps OpenAI's bodies onto gateway's synchronous generation path
            Map.entry("openai", Set.of("gateway", "messages", "resilience", "security")));

    /**
     * Outside libraries the engine and the wire records may use. Jackson databind is allowed in the engine for the JSON
     * of safetensors headers, config.json and JSONL prompt files: the well-kept library beats a hand-written parser.
     */
    private static final List<String> ENGINE_LIBRARIES = List.of("java.", "ai.djl.", "com.fasterxml.jackson.",
            // hashing (DigestUtils, Hex): the one SHA-256 helper of every package
            "org.apache.commons.codec.",
            // the JDK's Vector API (incubating in Java 17): the CPU decoder's attention kernels
            "jdk.incubator.vector.");
    private static final List<String> MESSAGE_LIBRARIES = List.of("java.", "com.fasterxml.jackson.annotation");

    @Test
    void everyPackageImportsOnlyWhatItsRuleAllows() throws IOException {
        List<String> violations = new ArrayList<>();
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String pkg = SOURCES.relativize(file.getParent()).toString().replace('/', '.');
                Set<String> allowed = INTERNAL.get(pkg);
                if (allowed == null) {
                    violations.add(file + ": package " + pkg + " has no rule here; add one");
                    continue;
                }
                Matcher imports = IMPORT.matcher(Files.readString(file));
                while (imports.find()) {
                    String imported = imports.group(1);
                    check(file, pkg, allowed, imported, violations);
                }
            }
        }
        assertEquals(List.of(), violations);
    }

    private static void check(Path file, String pkg, Set<String> allowed, String imported, List<String> violations) {
        if (imported.startsWith("io.steergate.")) {
            String target = owningPackage(imported.substring("io.steergate.".length()));
            if (!target.equals(pkg) && !allowed.contains(target)) {
                violations.add(file + ": " + pkg + " must not import " + imported);
            }
            return;
        }
        List<String> libraries = pkg.startsWith("engine.") ? ENGINE_LIBRARIES : pkg.equals("messages") ? MESSAGE_LIBRARIES : null;
        if (libraries != null && libraries.stream().noneMatch(imported::startsWith)) {
            violations.add(file + ": " + pkg + " must stay free of " + imported);
        }
    }

    /** "engine.model.sub" and "engine.model" own to engine.model; "gateway.x" to gateway. */
    private static String owningPackage(String relative) {
        String[] parts = relative.split("\\.");
        return parts[0].equals("engine") && parts.length > 1 ? "engine." + parts[1] : parts[0];
    }
}
