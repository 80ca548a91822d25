package io.steergate.security;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.transaction.Transactional;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.commons.codec.digest.DigestUtils;
import org.jboss.logging.Logger;

/**
 * Browser sessions of the review UI (table review_sessions, V17). A reviewer or an operator signs in with an API key
 * holding the reviewer or the operator role; the session gets a random token (256 bits, the cookie's value), stored
 * only as its SHA-256, and acts for that key's tenants under that key's name until it expires, is ended, or the key is
 * revoked or expires. Its roles are the key's, read with every request (the key's row is the one home of its roles).
 * The session is a credential of the /review pages only: the API under /v1 takes bearer credentials alone.
 */
@ApplicationScoped
public class ReviewSessions {

    private static final Logger LOG = Logger.getLogger(ReviewSessions.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int TOKEN_BYTES = 32;
    /** Domain separation: the CSRF token is derived from the session token, never equal to anything stored. */
    private static final String CSRF_CONTEXT = "steergate-review-csrf\n";
    /** The roles that may sign in to /review; the operator's pages need {@link Roles#OPERATOR} besides. */
    private static final Set<String> SIGN_IN_ROLES = Set.of(Roles.REVIEWER, Roles.OPERATOR);

    @Inject
    ApiKeys keys;

    @Inject
    EntityManager em;

    /**
     * A signed-in reviewer or operator: the credential's name (recorded as the reviewer of verdicts, and as who
     * promoted a version), tenants and roles.
     *
     * @param id the token's hash: names the session in assignments without being the token
     */
    public record Session(String id, String reviewer, Set<String> tenants, Set<String> roles, String csrfToken) {

        public boolean operator() {
            return roles.contains(Roles.OPERATOR);
        }

        /** The tenants reads are limited to; empty when the key holds every tenant. */
        public Optional<Set<String>> tenantScope() {
            return tenants.contains(Roles.ALL_TENANTS) ? Optional.empty() : Optional.of(tenants);
        }
    }

    /** A new session and the token for its cookie. */
    public record Opened(Session session, String token) {}

    /**
     * Opens a session for {@code key} when it is a usable API key holding the reviewer or the operator role; empty
     * otherwise, the same for an unknown, expired, revoked or client-only key, so the answer confirms nothing about a key.
     */
    @Transactional
    public Optional<Opened> open(String key, Duration lifetime) {
        Optional<ApiKeys.Verified> verified = keys.verify(key == null ? null : key.strip());
        if (verified.isEmpty() || verified.get().roles().stream().noneMatch(SIGN_IN_ROLES::contains)) {
            LOG.infof("review sign-in refused%s", verified.map(v -> " for API key " + v.id() + " (neither reviewer nor operator)").orElse(""));
            return Optional.empty();
        }
        ApiKeys.Verified holder = verified.get();
        em.createNativeQuery("delete from review_sessions where expires_at <= ?1").setParameter(1, Instant.now()).executeUpdate();
        byte[] secret = new byte[TOKEN_BYTES];
        RANDOM.nextBytes(secret);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
        String reviewer = Caller.KEY_PRINCIPAL_PREFIX + holder.id();
        em.createNativeQuery("insert into review_sessions (token_hash, key_id, reviewer, tenants, created_at, expires_at)"
                        + " values (?1, ?2, ?3, ?4, ?5, ?6)")
                .setParameter(1, hash(token)).setParameter(2, holder.id()).setParameter(3, reviewer)
                .setParameter(4, String.join(",", holder.tenants())).setParameter(5, now).setParameter(6, now.plus(lifetime))
                .executeUpdate();
        LOG.infof("review session opened for %s", reviewer);
        return Optional.of(new Opened(new Session(hash(token), reviewer, holder.tenants(), roles(holder.roles()),
                csrfToken(token)), token));
    }

    /** The live session of a cookie's token: not expired, not ended, its key still usable. */
    @Transactional
    public Optional<Session> find(String token) {
        if (token == null || token.isEmpty() || token.length() > 64) {
            return Optional.empty();
        }
        @SuppressWarnings("unchecked")
        List<Object[]> rows = em.createNativeQuery("select s.reviewer, s.tenants, k.roles from review_sessions s"
                        + " join api_keys k on k.id = s.key_id"
                        + " where s.token_hash = ?1 and s.expires_at > ?2 and k.revoked_at is null"
                        + " and (k.expires_at is null or k.expires_at > ?2)")
                .setParameter(1, hash(token)).setParameter(2, Instant.now()).getResultList();
        if (rows.isEmpty()) {
            return Optional.empty();
        }
        Object[] row = rows.get(0);
        Set<String> roles = roles(Set.copyOf(Arrays.stream(((String) row[2]).split(",")).map(String::strip).toList()));
        if (roles.isEmpty()) {
            return Optional.empty(); // the key no longer holds a role that may use the pages
        }
        Set<String> tenants = Set.copyOf(Arrays.stream(((String) row[1]).split(",")).filter(t -> !t.isEmpty()).toList());
        return Optional.of(new Session(hash(token), (String) row[0], tenants, roles, csrfToken(token)));
    }

    /** Ends the session of {@code token} (sign-out). Expired sessions are dropped when the next one opens. */
    @Transactional
    public void end(String token) {
        if (token != null) {
            em.createNativeQuery("delete from review_sessions where token_hash = ?1").setParameter(1, hash(token)).executeUpdate();
        }
    }

    /** Whether {@code presented} (a form's hidden field) is the session's CSRF token; constant time. */
    public static boolean csrfMatches(Session session, String presented) {
        return presented != null && MessageDigest.isEqual(session.csrfToken().getBytes(StandardCharsets.US_ASCII),
                presented.getBytes(StandardCharsets.US_ASCII));
    }

    /** A random token for a form that has no session yet (the sign-in form's double-submit cookie). */
    public static String randomToken() {
        byte[] secret = new byte[TOKEN_BYTES];
        RANDOM.nextBytes(secret);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    }

    /** Of a key's roles, those the pages know: reviewer and operator. */
    private static Set<String> roles(Set<String> keyRoles) {
        return Set.copyOf(keyRoles.stream().filter(SIGN_IN_ROLES::contains).toList());
    }

    private static String csrfToken(String token) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(
                DigestUtils.sha256((CSRF_CONTEXT + token).getBytes(StandardCharsets.UTF_8)));
    }

    private static String hash(String token) {
        return DigestUtils.sha256Hex(token.getBytes(StandardCharsets.UTF_8));
    }
}
