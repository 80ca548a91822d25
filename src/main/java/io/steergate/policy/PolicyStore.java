package io.steergate.policy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The policies in force, read from the *.yaml files of one directory. A file that fails to parse, or claims a tenant
 * another policy already covers, is refused and its previous version (if any) stays in force. Lookups read an
 * immutable snapshot, so {@link #policyFor} never blocks on a reload. Plain class: the service layer owns it and
 * schedules {@link #reloadIfChanged()}.
 */
public final class PolicyStore {

    /** What happens to a tenant that no policy lists. */
    public enum UncoveredTenants {
        /** The policy whose tenants include {@code '*'} (the {@code default} policy) decides; none loaded: refused. */
        DEFAULT_POLICY,
        /** The tenant is refused (POLICY_DENIED) even when a {@code default} policy is loaded. */
        REJECT
    }

    /** A file that was not taken into force, why, and which version of it stays in force (null: none). */
    public record Refusal(String file, List<PolicyError> errors, String keptVersion) {
        public Refusal {
            errors = List.copyOf(errors);
        }
    }

    /**
     * The outcome of a reload.
     *
     * @param changed   false when {@link #reloadIfChanged()} found every file as it was and did nothing
     * @param accepted  files whose new or changed content is now in force
     * @param unchanged files in force as before
     * @param refused   files not taken into force, with every error
     * @param removed   files deleted since the last reload, whose policies are out of force
     */
    public record ReloadReport(boolean changed, List<String> accepted, List<String> unchanged, List<Refusal> refused, List<String> removed) {
        public ReloadReport {
            accepted = List.copyOf(accepted);
            unchanged = List.copyOf(unchanged);
            refused = List.copyOf(refused);
            removed = List.copyOf(removed);
        }
    }

    /** A policy in force and where its tenants are written. */
    private record InForce(Policy policy, Map<String, PolicyError> tenantMarks) {}

    /** One consistent view: policies by file and by tenant, and the content hashes seen at the last reload. */
    private record Snapshot(Map<String, InForce> byFile, Map<String, Policy> byTenant, Map<String, String> seen) {}

    private final Path directory;
    private final PolicyParser parser;
    private final UncoveredTenants uncovered;
    private volatile Snapshot snapshot = new Snapshot(Map.of(), Map.of(), Map.of());

    /** A store of the policies in {@code directory} (lexicon paths resolve there too); nothing is loaded until {@link #reload()}. */
    public PolicyStore(Path directory, InterventionCatalog catalog, UncoveredTenants uncovered) {
        this.directory = directory;
        this.parser = new PolicyParser(directory, catalog);
        this.uncovered = uncovered;
    }

    /** The directory the policy files are read from. */
    Path directory() {
        return directory;
    }

    /** The policy that decides for {@code tenant}: the one listing it, else per {@link UncoveredTenants}. */
    public Optional<Policy> policyFor(String tenant) {
        Map<String, Policy> byTenant = snapshot.byTenant;
        Policy policy = byTenant.get(tenant);
        if (policy == null && uncovered == UncoveredTenants.DEFAULT_POLICY) {
            policy = byTenant.get(Policy.ANY_TENANT);
        }
        return Optional.ofNullable(policy);
    }

    /** The policy in force with this id. */
    public Optional<Policy> policy(String id) {
        InForce inForce = snapshot.byFile.get(id + ".yaml");
        return Optional.ofNullable(inForce == null ? null : inForce.policy);
    }

    /** Every policy in force, by file name. */
    public List<Policy> policies() {
        return snapshot.byFile.values().stream().map(InForce::policy).toList();
    }

    public UncoveredTenants uncoveredTenants() {
        return uncovered;
    }

    /**
     * Checks {@code content} as if it were the file {@code fileName}, against the policies in force (for
     * {@code POST /v1/policies/validate}); changes nothing. The result carries every parse error plus a tenant
     * already covered by another file.
     */
    public PolicyParser.Result validate(String fileName, byte[] content) {
        PolicyParser.Result result = parser.parse(fileName, content);
        if (!result.ok()) {
            return result;
        }
        Map<String, Claim> claims = new HashMap<>();
        snapshot.byFile.forEach((file, inForce) -> {
            if (!file.equals(fileName)) {
                inForce.tenantMarks.forEach((tenant, mark) -> claims.put(tenant, new Claim(file, mark)));
            }
        });
        List<PolicyError> conflicts = conflicts(result.tenantMarks(), claims);
        return conflicts.isEmpty() ? result
                : new PolicyParser.Result(result.file(), result.version(), null, conflicts, result.tenantMarks());
    }

    /**
     * Reloads when a *.yaml file was added, removed or changed since the last reload (compared by the sha256 of
     * its bytes: policy files are small, and a hash cannot miss an edit within one mtime tick as a timestamp can).
     * Otherwise does nothing and returns a report with {@code changed == false}.
     *
     * @throws IOException if the directory cannot be listed
     */
    public synchronized ReloadReport reloadIfChanged() throws IOException {
        Map<String, byte[]> files = read();
        Map<String, String> hashes = new HashMap<>();
        files.forEach((name, bytes) -> hashes.put(name, "sha256:" + PolicyParser.sha256(bytes)));
        if (hashes.equals(snapshot.seen)) {
            return new ReloadReport(false, List.of(), List.copyOf(snapshot.byFile.keySet()), List.of(), List.of());
        }
        return reload(files);
    }

    /**
     * Parses every *.yaml file of the directory and takes into force each that parses and claims no tenant another
     * policy in force covers (files kept in force, unchanged or previous versions of refused files, claim their
     * tenants first; then new and changed files in name order). A refused file keeps its previous version in force
     * if it had one and that version still claims no tenant twice.
     *
     * @throws IOException if the directory cannot be listed
     */
    public synchronized ReloadReport reload() throws IOException {
        return reload(read());
    }

    private ReloadReport reload(Map<String, byte[]> files) {
        Snapshot previous = snapshot;
        List<String> accepted = new ArrayList<>();
        List<String> unchanged = new ArrayList<>();
        List<Refusal> refused = new ArrayList<>();
        List<String> removed = previous.byFile.keySet().stream().filter(file -> !files.containsKey(file)).sorted().toList();
        Map<String, String> seen = new HashMap<>();

        Map<String, InForce> next = new LinkedHashMap<>();
        Map<String, Claim> claims = new HashMap<>();
        Map<String, PolicyParser.Result> fresh = new LinkedHashMap<>();
        // first the versions that stay in force: they were consistent with each other before
        for (Map.Entry<String, byte[]> file : files.entrySet()) {
            String name = file.getKey();
            PolicyParser.Result result = parser.parse(name, file.getValue());
            seen.put(name, result.version());
            InForce before = previous.byFile.get(name);
            if (before != null && result.ok() && before.policy.version().equals(result.version())) {
                keep(next, claims, name, before);
                unchanged.add(name);
            } else if (!result.ok()) {
                if (before != null) {
                    keep(next, claims, name, before);
                }
                refused.add(new Refusal(name, result.errors(), before == null ? null : before.policy.version()));
            } else {
                fresh.put(name, result);
            }
        }
        // then new and changed files, in name order
        for (PolicyParser.Result result : fresh.values()) {
            List<PolicyError> conflicts = conflicts(result.tenantMarks(), claims);
            if (conflicts.isEmpty()) {
                keep(next, claims, result.file(), new InForce(result.policy(), result.tenantMarks()));
                accepted.add(result.file());
                continue;
            }
            InForce before = previous.byFile.get(result.file());
            boolean keepBefore = before != null && conflicts(before.tenantMarks, claims).isEmpty();
            if (keepBefore) {
                keep(next, claims, result.file(), before);
            }
            refused.add(new Refusal(result.file(), conflicts, keepBefore ? before.policy.version() : null));
        }

        Map<String, Policy> byTenant = new HashMap<>();
        next.values().forEach(inForce -> inForce.policy.tenants().forEach(tenant -> byTenant.put(tenant, inForce.policy)));
        Map<String, InForce> sorted = new LinkedHashMap<>();
        next.keySet().stream().sorted().forEach(file -> sorted.put(file, next.get(file)));
        snapshot = new Snapshot(sorted, byTenant, seen);
        return new ReloadReport(true, accepted, unchanged, refused, removed);
    }

    private record Claim(String file, PolicyError mark) {}

    private static void keep(Map<String, InForce> next, Map<String, Claim> claims, String file, InForce inForce) {
        next.put(file, inForce);
        inForce.tenantMarks.forEach((tenant, mark) -> claims.put(tenant, new Claim(file, mark)));
    }

    private static List<PolicyError> conflicts(Map<String, PolicyError> tenantMarks, Map<String, Claim> claims) {
        List<PolicyError> errors = new ArrayList<>();
        tenantMarks.forEach((tenant, mark) -> {
            Claim claim = claims.get(tenant);
            if (claim != null) {
                errors.add(new PolicyError(mark.file(), mark.line(), mark.column(), "tenant '" + tenant
                        + "' is already covered by " + claim.file + ":" + claim.mark.line() + ":" + claim.mark.column()));
            }
        });
        return errors;
    }

    /** The *.yaml files of the directory (not its subdirectories), by name in name order. */
    private Map<String, byte[]> read() throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        try (Stream<Path> listing = Files.list(directory)) {
            for (Path file : listing.filter(f -> f.getFileName().toString().endsWith(".yaml") && Files.isRegularFile(f))
                    .sorted().toList()) {
                files.put(file.getFileName().toString(), Files.readAllBytes(file));
            }
        }
        return files;
    }
}
