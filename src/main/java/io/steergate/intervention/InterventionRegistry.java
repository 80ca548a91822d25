package io.steergate.intervention;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.Identifiers;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.persistence.LockModeType;
import jakarta.transaction.TransactionSynchronizationRegistry;
import jakarta.transaction.Transactional;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.ToIntFunction;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.commons.codec.digest.DigestUtils;
import org.jboss.logging.Logger;

/**
 * Interventions and their versions in PostgreSQL: upload (checked against the models workers serve), promote,
 * retire, and reads for the policy and the workers. Versions are immutable; only their status moves.
 *
 * <p>The reads every decision makes ({@link #exists}, {@link #activeVersion}, {@link #activeSites}) come from a
 * snapshot of the names and active versions, which is used only while the registry's version counter still has the
 * value the snapshot was read at. The counter is read once per transaction; a trigger moves it in the transaction of
 * any change to the registry's tables (V21), whichever process or writer makes it, so a promotion or retirement
 * committed anywhere is seen by the next transaction everywhere, as without the cache.
 */
@ApplicationScoped
public class InterventionRegistry {

    private static final Logger LOG = Logger.getLogger(InterventionRegistry.class);
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A transaction's memo that it changed the registry: its next read checks the counter again. */
    private static final Object CHANGED_HERE = new Object();

    @Inject
    MeterRegistry metrics;

    @Inject
    EntityManager entities;

    @Inject
    TransactionSynchronizationRegistry transactions;

    /** The names and active versions as of a value of the registry's version counter. */
    private record Snapshot(long version, Set<String> names, Map<String, Active> active) {}

    private record Active(int version, List<String> sites) {}

    /** Key of this registry's memo in the current transaction: the snapshot checked against the counter there. */
    private final Object memoKey = new Object();
    private volatile Snapshot cached;

    /**
     * What a listing shows of a version: everything but the map bytes. trainingDataSha256 is the map's provenance,
     * {source, target} hashes of its prompts as PromptSet.sha256Of computes them (a stored prompt set's sha256), or null.
     * gate is the evaluation gate's verdict on a trained version (PASSED, REFUSED, or null when not evaluated);
     * gateOverrideBy who promoted it over a REFUSED verdict.
     */
    public record VersionSummary(int version, String status, String method, String modelFingerprint, List<String> sites,
            String mapSha256, Map<String, String> trainingDataSha256, String createdBy, Instant createdAt, Instant statusChangedAt,
            String gate, String gateOverrideBy, Instant gateOverrideAt) {}

    /** A model some worker registered: what a trainer checks site specs against. */
    public record ServedModelSummary(String name, String fingerprint, int layers, int dim, Instant registeredAt) {}

    /** An intervention with its versions, newest first. */
    public record InterventionSummary(String name, String kind, String description, Integer activeVersion,
            List<VersionSummary> versions) {}

    /** Called by a worker at start so that uploads can be checked against the model it serves. */
    @Transactional
    public void registerServedModel(String name, String fingerprint, int layers, int dim, Map<String, Integer> pointWidths) {
        String widths;
        try {
            widths = JSON.writeValueAsString(new TreeMap<>(pointWidths));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a map of names to numbers always serialises", e);
        }
        // one statement: two workers of one model starting together both found no row and both inserted, and the
        // second died on the primary key (SplitRolesIT)
        ServedModel.getEntityManager().createNativeQuery("insert into served_models"
                + " (fingerprint, name, layers, dim, point_widths_json, registered_at) values (?1, ?2, ?3, ?4, ?5, ?6)"
                + " on conflict (fingerprint) do update set name = excluded.name, layers = excluded.layers,"
                + " dim = excluded.dim, point_widths_json = excluded.point_widths_json,"
                + " registered_at = excluded.registered_at")
                .setParameter(1, fingerprint).setParameter(2, name).setParameter(3, layers).setParameter(4, dim)
                .setParameter(5, widths).setParameter(6, Instant.now())
                .executeUpdate();
    }

    /** The width of each hook point in a served model, by wire name: as its worker registered them, else dim. */
    private static ToIntFunction<String> pointWidths(ServedModel served) {
        Map<String, Integer> widths = Map.of();
        if (served.pointWidthsJson != null) {
            try {
                widths = JSON.readValue(served.pointWidthsJson, new TypeReference<Map<String, Integer>>() {});
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("served model " + served.fingerprint + " has unreadable point widths", e);
            }
        }
        Map<String, Integer> known = widths;
        return point -> known.getOrDefault(point, served.dim);
    }

    /**
     * Stores a map file as a new candidate version, creating the intervention on its first version.
     *
     * @throws ApiError 422 when the file is malformed, names another intervention, or does not fit any served
     *     model (fingerprint, layers, widths); 400 for a bad name or kind
     */
    @Transactional
    public VersionSummary upload(String name, String kind, String description, byte[] file, String createdBy) {
        checkName(name);
        Intervention map = parse(name, file);
        ServedModel served = ServedModel.findById(map.modelFingerprint());
        if (served == null) {
            String known = ServedModel.<ServedModel>listAll().stream().map(m -> m.name + " (" + m.fingerprint + ")")
                    .collect(Collectors.joining(", "));
            throw new ApiError(422, ErrorCode.MAP_REFUSED, "map '" + name + "' was made for model " + map.modelFingerprint()
                    + ", which no worker serves; served: " + (known.isEmpty() ? "none registered yet" : known));
        }
        try {
            ToIntFunction<String> widthOf = pointWidths(served);
            map.checkCompatible(served.layers, point -> widthOf.applyAsInt(point.wireName()), served.fingerprint);
        } catch (IllegalArgumentException e) {
            throw new ApiError(422, ErrorCode.MAP_REFUSED, e.getMessage());
        }
        // Uploads of one name take turns from here to their commit (two trainers finishing together, a trigger's job
        // beside a manual upload, a retried request): the definition's row is locked, so each reads the versions the
        // one before it committed and draws the next number instead of both drawing the same (a unique violation,
        // which threw away the second's finished training).
        InterventionDefinition definition = InterventionDefinition.findById(name, LockModeType.PESSIMISTIC_WRITE);
        if (definition == null) {
            entities.createNativeQuery("insert into interventions (name, kind, description, created_at)"
                            + " values (:name, :kind, :description, :createdAt) on conflict (name) do nothing")
                    .setParameter("name", name).setParameter("kind", kind(kind)).setParameter("description", description)
                    .setParameter("createdAt", Instant.now()).executeUpdate();
            definition = InterventionDefinition.findById(name, LockModeType.PESSIMISTIC_WRITE);
        }
        if (kind != null && !kind.equals(definition.kind)) {
            throw new ApiError(409, ErrorCode.CONFLICT, "intervention '" + name + "' is of kind " + definition.kind + ", not " + kind);
        }
        int next = InterventionVersion.find("name", name).count() == 0 ? 1
                : InterventionVersion.<InterventionVersion>find("name = ?1 order by version desc", name).firstResult().version + 1;
        InterventionVersion version = new InterventionVersion();
        version.name = name;
        version.version = next;
        version.status = InterventionVersion.Status.candidate.name();
        version.method = map.method();
        version.modelFingerprint = map.modelFingerprint();
        version.sites = map.maps().keySet().stream().map(HookSite::name).collect(Collectors.joining(","));
        version.metricsJson = map.metadata().get("metrics");
        version.mapSha256 = DigestUtils.sha256Hex(file);
        String provenance = map.metadata().get("training_data_sha256");
        version.trainingDataJson = trainingData(provenance).isEmpty() ? null : provenance;
        version.mapBlob = file;
        version.createdBy = createdBy == null || createdBy.isBlank() ? "upload" : createdBy;
        version.createdAt = Instant.now();
        version.statusChangedAt = version.createdAt;
        version.persist();
        changedHere();
        // by kind, a closed set: a label per uploaded name would add a series per name for the life of the process
        metrics.counter("steergate.interventions.uploaded", "kind", definition.kind).increment();
        LOG.infof("intervention %s version %d stored as candidate (%s, %d sites, by %s)", name, next, map.method(),
                map.maps().size(), version.createdBy);
        return summary(version);
    }

    /** Makes a version the active one unless its evaluation gate refused it; see {@link #promote(String, int, boolean, String)}. */
    @Transactional
    public VersionSummary promote(String name, int number) {
        return promote(name, number, false, null);
    }

    /**
     * Makes a version the active one; the previously active version goes back to candidate. A version the evaluation
     * gate REFUSED is promoted only with {@code overrideGate}, and who did it ({@code by}) is recorded on the version.
     *
     * @throws ApiError 404 for an unknown version; 409 when it is retired, or REFUSED by its gate without an override
     */
    @Transactional
    public VersionSummary promote(String name, int number, boolean overrideGate, String by) {
        InterventionVersion version = lockedVersion(name, number);
        if (InterventionVersion.Status.retired.name().equals(version.status)) {
            throw new ApiError(409, ErrorCode.CONFLICT, "intervention '" + name + "' version " + number + " is retired and cannot be promoted");
        }
        Optional<InterventionVersion> current = InterventionVersion.active(name);
        if (current.isPresent() && current.get().version == number) {
            return summary(version);
        }
        if (InterventionVersion.GATE_REFUSED.equals(version.gate)) {
            if (!overrideGate) {
                throw new ApiError(409, ErrorCode.CONFLICT, "intervention '" + name + "' version " + number + ": the"
                        + " evaluation gate REFUSED it (its retraining job's gateReport says why); promote with"
                        + " overrideGate=true to override, which is recorded");
            }
            version.gateOverrideBy = by == null || by.isBlank() ? "unknown" : by;
            version.gateOverrideAt = Instant.now();
            LOG.warnf("intervention %s version %d promoted over its REFUSED evaluation gate by %s", name, number,
                    version.gateOverrideBy);
        }
        current.ifPresent(previous -> {
            previous.status = InterventionVersion.Status.candidate.name();
            previous.statusChangedAt = Instant.now();
            previous.flush(); // the partial unique index allows one active row: demote before promoting
        });
        version.status = InterventionVersion.Status.active.name();
        version.statusChangedAt = Instant.now();
        changedHere();
        LOG.infof("intervention %s version %d promoted (was %s)", name, number,
                current.map(v -> "version " + v.version).orElse("none active"));
        return summary(version);
    }

    /** Records the evaluation gate's verdict (PASSED or REFUSED) on a version, in the caller's transaction. */
    @Transactional
    public void recordGate(String name, int number, String verdict) {
        if (!InterventionVersion.GATE_REFUSED.equals(verdict) && !InterventionVersion.GATE_PASSED.equals(verdict)) {
            throw new IllegalArgumentException("gate verdict must be PASSED or REFUSED, got " + verdict);
        }
        lockedVersion(name, number).gate = verdict;
        changedHere();
    }

    /** Takes a version out of use for good; plans can no longer name it. */
    @Transactional
    public VersionSummary retire(String name, int number) {
        InterventionVersion version = lockedVersion(name, number);
        version.status = InterventionVersion.Status.retired.name();
        version.statusChangedAt = Instant.now();
        changedHere();
        LOG.infof("intervention %s version %d retired", name, number);
        return summary(version);
    }

    @Transactional
    public List<InterventionSummary> list() {
        return InterventionDefinition.<InterventionDefinition>list("order by name").stream().map(this::summary).toList();
    }

    @Transactional
    public Optional<InterventionSummary> get(String name) {
        return InterventionDefinition.<InterventionDefinition>findByIdOptional(name).map(this::summary);
    }

    /** The active version number of an intervention, if it has one. */
    @Transactional
    public Optional<Integer> activeVersion(String name) {
        return Optional.ofNullable(snapshot().active().get(name)).map(Active::version);
    }

    /** The models workers registered, the most recently registered first. */
    @Transactional
    public List<ServedModelSummary> servedModels() {
        return ServedModel.<ServedModel>list("order by registeredAt desc").stream()
                .map(m -> new ServedModelSummary(m.name, m.fingerprint, m.layers, m.dim, m.registeredAt)).toList();
    }

    /** Whether some worker has registered the model it serves (uploads can be checked only then). */
    @Transactional
    public boolean anyServedModel() {
        return ServedModel.count() > 0;
    }

    /** Whether an intervention of this name is registered, with or without an active version. */
    @Transactional
    public boolean exists(String name) {
        return snapshot().names().contains(name);
    }

    /** The sites of the active version (for per-site strength caps); empty when none is active. */
    @Transactional
    public List<String> activeSites(String name) {
        return Optional.ofNullable(snapshot().active().get(name)).map(Active::sites).orElse(List.of());
    }

    /**
     * The snapshot that holds for this transaction: the cached one while the counter has not moved since it was read,
     * else one read now. The data is read after the counter, so it is never older than the value it is kept under;
     * a value read inside a transaction that then rolls back is never committed (it comes from a sequence), so what
     * such a transaction read is never taken for a committed state.
     */
    private Snapshot snapshot() {
        if (transactions.getResource(memoKey) instanceof Snapshot checked) {
            return checked;
        }
        long version = ((Number) entities.createNativeQuery("select version from intervention_registry_version").getSingleResult()).longValue();
        Snapshot current = cached;
        if (current == null || current.version() != version) {
            current = read(version);
            cached = current;
        }
        transactions.putResource(memoKey, current);
        return current;
    }

    @SuppressWarnings("unchecked")
    private Snapshot read(long version) {
        Set<String> names = Set.copyOf(entities.createNativeQuery("select name from interventions", String.class).getResultList());
        Map<String, Active> active = new HashMap<>();
        for (Object[] row : (List<Object[]>) entities.createNativeQuery(
                "select name, version, sites from intervention_versions where status = 'active'").getResultList()) {
            active.put((String) row[0], new Active(((Number) row[1]).intValue(), List.of(((String) row[2]).split(","))));
        }
        return new Snapshot(version, names, Map.copyOf(active));
    }

    /** After a change in this transaction, its next read checks the counter again (the trigger has moved it). */
    private void changedHere() {
        transactions.putResource(memoKey, CHANGED_HERE);
    }

    /**
     * The map file of a version, whatever its status: a job planned before a retirement still finishes with the
     * version it was planned with. Only planning looks at the status.
     */
    @Transactional
    public byte[] mapFile(String name, int number) {
        return version(name, number).mapBlob;
    }

    /**
     * A version read once its intervention's row is locked: the changes of one intervention's versions (upload,
     * promote, retire, gate verdict) take turns to their commits. Otherwise two promotes at once both demoted the
     * active version and the second tripped the one-active index (a 500), and a retire committed between a promote's
     * read and its commit was undone by it.
     */
    private InterventionVersion lockedVersion(String name, int number) {
        InterventionDefinition.findById(name, LockModeType.PESSIMISTIC_WRITE);
        InterventionVersion version = version(name, number);
        entities.refresh(version); // read before the lock earlier in this transaction, it may be stale
        return version;
    }

    private InterventionVersion version(String name, int number) {
        return InterventionVersion.of(name, number).orElseThrow(() -> new ApiError(404, ErrorCode.NOT_FOUND,
                "intervention '" + name + "' has no version " + number));
    }

    private static Intervention parse(String name, byte[] file) {
        Intervention map;
        try {
            map = InterventionFile.read(file);
        } catch (IllegalArgumentException e) {
            throw new ApiError(422, ErrorCode.MAP_REFUSED, "not a steergate.intervention/v1 map file: " + e.getMessage());
        }
        if (!map.name().equals(name)) {
            throw new ApiError(422, ErrorCode.MAP_REFUSED, "the file is a map of '" + map.name() + "', not of '" + name + "'");
        }
        return map;
    }

    /**
     * Checks an intervention name before anything is stored under it.
     *
     * @throws ApiError 400 naming the field when it is not 1-64 characters of [a-z0-9-]
     */
    public static void checkName(String name) {
        if (name == null || !Identifiers.NAME.matcher(name).matches()) {
            throw new ApiError(400, ErrorCode.INVALID_REQUEST, "name: must be 1-64 characters of [a-z0-9-], starting with a letter or digit");
        }
    }

    /**
     * Checks the kind a new intervention is created with.
     *
     * @throws ApiError 400 naming the field when it is missing or not toxicity, style, negation or concept
     */
    public static void checkKind(String kind) {
        kind(kind);
    }

    private static String kind(String kind) {
        if (kind == null) {
            throw new ApiError(400, ErrorCode.INVALID_REQUEST, "kind: required for a new intervention (toxicity, style, negation or concept)");
        }
        try {
            return InterventionDefinition.Kind.valueOf(kind).name();
        } catch (IllegalArgumentException e) {
            throw new ApiError(400, ErrorCode.INVALID_REQUEST, "kind: must be toxicity, style, negation or concept, got " + kind);
        }
    }

    private InterventionSummary summary(InterventionDefinition definition) {
        List<VersionSummary> versions = InterventionVersion.<InterventionVersion>list("name = ?1 order by version desc", definition.name)
                .stream().map(InterventionRegistry::summary).toList();
        Integer active = versions.stream().filter(v -> v.status().equals("active")).map(VersionSummary::version).findFirst().orElse(null);
        return new InterventionSummary(definition.name, definition.kind, definition.description, active, versions);
    }

    private static VersionSummary summary(InterventionVersion v) {
        Map<String, String> trainingData = trainingData(v.trainingDataJson);
        return new VersionSummary(v.version, v.status, v.method, v.modelFingerprint, Arrays.asList(v.sites.split(",")),
                v.mapSha256, trainingData.isEmpty() ? null : trainingData, v.createdBy, v.createdAt, v.statusChangedAt,
                v.gate, v.gateOverrideBy, v.gateOverrideAt);
    }

    /**
     * The {source, target} hashes of a map's training_data_sha256 metadata; empty unless it is exactly that: an
     * uploaded map's metadata is the uploader's text, so anything else is not shown as provenance.
     */
    static Map<String, String> trainingData(String json) {
        if (json == null) {
            return Map.of();
        }
        try {
            JsonNode node = JSON.readTree(json);
            if (node == null || !node.isObject() || node.size() != 2) {
                return Map.of();
            }
            Map<String, String> hashes = new TreeMap<>();
            for (String side : List.of("source", "target")) {
                JsonNode hash = node.get(side);
                if (hash == null || !hash.isTextual() || !SHA256_HEX.matcher(hash.textValue()).matches()) {
                    return Map.of();
                }
                hashes.put(side, hash.textValue());
            }
            return hashes;
        } catch (JsonProcessingException e) {
            return Map.of();
        }
    }
}
