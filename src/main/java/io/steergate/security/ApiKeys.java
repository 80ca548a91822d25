package io.steergate.security;

import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.Identifiers;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.commons.codec.digest.DigestUtils;
import org.jboss.logging.Logger;

/**
 * Issues, lists, revokes and verifies API keys. A key is {@code sgk_} and 43 base64url characters (256 random bits);
 * it is returned once by {@link #issue} and stored only as its SHA-256. A fast hash is enough here: the key is random,
 * so there is no dictionary for an attacker with the table to try, unlike a password.
 */
@ApplicationScoped
public class ApiKeys {

    private static final Logger LOG = Logger.getLogger(ApiKeys.class);
    /** Marks SteerGate's keys, so a scanner recognises a leaked one and the server tells a key from a JWT. */
    public static final String PREFIX = "sgk_";
    private static final int KEY_BYTES = 32;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern TENANT = Identifiers.TENANT;
    private static final int MAX_TENANTS = 64;
    private static final int MAX_DESCRIPTION = 256;

    /** What is shown of a key: everything but the key. */
    public record KeyView(String id, List<String> tenants, List<String> roles, String description, String createdBy,
            Instant createdAt, Instant expiresAt, Instant revokedAt) {}

    /** A new key: its view and the key itself, shown this once. */
    public record Issued(KeyView view, String key) {}

    /** A key that may be used now: who it is, its tenants and roles. */
    public record Verified(String id, Set<String> tenants, Set<String> roles) {}

    /** Fired inside the revoking transaction, so that what the key's sessions hold is given back with it. */
    public record Revoked(String keyId) {}

    @Inject
    Event<Revoked> revocations;

    /**
     * Issues a key.
     *
     * @param expiresAt null: never expires
     * @throws ApiError 400 naming a bad tenant, role or description
     */
    @Transactional
    public Issued issue(List<String> tenants, List<String> roles, String description, Instant expiresAt, String createdBy) {
        List<String> checkedTenants = checkTenants(tenants);
        List<String> checkedRoles = checkRoles(roles);
        if (description != null && description.length() > MAX_DESCRIPTION) {
            throw ApiError.badField("description", "at most " + MAX_DESCRIPTION + " characters");
        }
        if (expiresAt != null && !expiresAt.isAfter(Instant.now())) {
            throw ApiError.badField("expiresAt", "must be in the future");
        }
        byte[] secret = new byte[KEY_BYTES];
        RANDOM.nextBytes(secret);
        String key = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        ApiKey row = new ApiKey();
        row.id = HexFormat.of().formatHex(randomBytes(8));
        row.keyHash = hash(key);
        row.tenants = String.join(",", checkedTenants);
        row.roles = String.join(",", checkedRoles);
        row.description = description;
        row.createdBy = createdBy;
        row.createdAt = Instant.now();
        row.expiresAt = expiresAt;
        row.persist();
        LOG.infof("API key %s issued by %s: roles %s, tenants %s, expires %s", row.id, createdBy, row.roles, row.tenants,
                expiresAt == null ? "never" : expiresAt);
        return new Issued(view(row), key);
    }

    @Transactional
    public List<KeyView> list() {
        return ApiKey.<ApiKey>list("order by createdAt").stream().map(ApiKeys::view).toList();
    }

    /**
     * Revokes a key for good; revoking a revoked key changes nothing.
     *
     * @throws ApiError 404 for an unknown id
     */
    @Transactional
    public KeyView revoke(String id, String revokedBy) {
        ApiKey row = id == null ? null : ApiKey.findById(id);
        if (row == null) {
            throw new ApiError(404, ErrorCode.NOT_FOUND, "API key " + id + ": not found");
        }
        if (row.revokedAt == null) {
            row.revokedAt = Instant.now();
            revocations.fire(new Revoked(row.id));
            LOG.infof("API key %s revoked by %s", row.id, revokedBy);
        }
        return view(row);
    }

    /** The key's identity if it is known, not revoked and not expired; empty otherwise (the caller gets 401). */
    @Transactional
    public Optional<Verified> verify(String key) {
        if (key == null || !key.startsWith(PREFIX)) {
            return Optional.empty();
        }
        ApiKey row = ApiKey.<ApiKey>find("keyHash", hash(key)).firstResult();
        if (row == null || !row.usableAt(Instant.now())) {
            if (row != null) {
                LOG.debugf("API key %s refused: %s", row.id, row.revokedAt != null ? "revoked" : "expired");
            }
            return Optional.empty();
        }
        return Optional.of(new Verified(row.id, Set.copyOf(split(row.tenants)), Set.copyOf(split(row.roles))));
    }

    static String hash(String key) {
        return DigestUtils.sha256Hex(key.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        RANDOM.nextBytes(bytes);
        return bytes;
    }

    private static List<String> checkTenants(List<String> tenants) {
        if (tenants == null || tenants.isEmpty()) {
            throw ApiError.badField("tenants", "name at least one tenant, or \"*\" for every tenant");
        }
        if (tenants.size() > MAX_TENANTS) {
            throw ApiError.badField("tenants", "at most " + MAX_TENANTS);
        }
        Set<String> checked = new LinkedHashSet<>();
        for (String tenant : tenants) {
            if (tenant == null || !(tenant.equals(Roles.ALL_TENANTS) || TENANT.matcher(tenant).matches())) {
                throw ApiError.badField("tenants", "each must be 1-64 characters of [a-z0-9-] or \"*\"");
            }
            checked.add(tenant);
        }
        return checked.contains(Roles.ALL_TENANTS) ? List.of(Roles.ALL_TENANTS) : new ArrayList<>(checked);
    }

    private static List<String> checkRoles(List<String> roles) {
        if (roles == null || roles.isEmpty()) {
            throw ApiError.badField("roles", "name at least one of " + String.join(", ", Roles.ALL));
        }
        Set<String> checked = new LinkedHashSet<>();
        for (String role : roles) {
            if (!Roles.known(role)) {
                throw ApiError.badField("roles", "each must be one of " + String.join(", ", Roles.ALL));
            }
            checked.add(role);
        }
        return new ArrayList<>(checked);
    }

    private static List<String> split(String commaSeparated) {
        return Arrays.stream(commaSeparated.split(",")).filter(s -> !s.isEmpty()).toList();
    }

    private static KeyView view(ApiKey row) {
        return new KeyView(row.id, split(row.tenants), split(row.roles), row.description, row.createdBy, row.createdAt,
                row.expiresAt, row.revokedAt);
    }
}
