package io.steergate.review;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.audit.AuditRecord;
import io.steergate.messages.PolicyRef;
import io.steergate.policy.Policy;
import io.steergate.policy.PolicyEngine;
import io.steergate.security.ApiKeys;
import io.steergate.security.ReviewSessions.Session;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.persistence.Query;
import jakarta.transaction.Transactional;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.apache.commons.codec.digest.DigestUtils;

/**
 * The review queue: completed records of the reviewer's tenants that a scorer of their policy flags (the policy in
 * force, {@link PolicyEngine#flagged}) or that the policy's {@code review.sample} draws, not yet reviewed; of the
 * reviewed ones, those {@code review.agreement} draws go round once more, to a second reviewer. The draws are a hash
 * of the record's id, so a listing, a claim and a restart agree. A record is handed to one session at a time: the
 * claim is a row of review_assignments per (record, slot), taken with insert ... on conflict, so two sessions racing
 * for one record cannot both win, and it lapses after steergate.review.assignment-ttl.
 *
 * The whole selection runs in SQL ({@link #queuedCondition}): the policies' thresholds and sampling rates are
 * parameters of the query and PostgreSQL computes the draws from the same SHA-256 as {@link #draw}, so a page of
 * candidates holds queued records only, however long the backlog of records that are not queued before them.
 */
@ApplicationScoped
public class ReviewQueue {

    /** Queued records read per query; a claim that loses every race on a page reads the next one. */
    private static final int PAGE = 200;
    /** 2^53: a draw is the top 53 bits of a SHA-256 over 2^53 (see {@link #draw}); SQL compares the bits. */
    private static final double DRAW_SCALE = 0x1.0p53;

    @Inject
    EntityManager em;

    @Inject
    PolicyEngine policies;

    @Inject
    ObjectMapper json;

    @Inject
    ReviewConfig config;

    /**
     * Narrows the queue: a tenant of the reviewer's, an intervention in the plan, the policy; null for any. With
     * {@code flaggedOnly}, records a scorer flags, not those only sampled.
     */
    public record Filter(String tenant, String intervention, String policy, boolean flaggedOnly) {

        public static final Filter NONE = new Filter(null, null, null, false);

        /** The filter as URL query parameters ("tenant=a&amp;flagged=true"), empty for none: links carry it along. */
        public String query() {
            List<String> parts = new ArrayList<>();
            if (tenant != null) {
                parts.add("tenant=" + tenant);
            }
            if (intervention != null) {
                parts.add("intervention=" + intervention);
            }
            if (policy != null) {
                parts.add("policy=" + policy);
            }
            if (flaggedOnly) {
                parts.add("flagged=true");
            }
            return String.join("&", parts);
        }
    }

    /**
     * One queued record and why it is queued.
     *
     * @param flagged the scorers over their threshold
     * @param sampled drawn by review.sample
     * @param reviews distinct reviewers so far (1: this is the agreement review)
     */
    public record Entry(long id, String tenant, String policyId, Instant recordedAt, Map<String, Double> scores,
            List<String> interventions, List<String> flagged, boolean sampled, int reviews) {

        /** The scores as shown: three decimals, in the record's order. */
        public String scoreText() {
            return scores.entrySet().stream().map(s -> s.getKey() + " " + ReviewRecords.score(s.getValue()))
                    .collect(Collectors.joining(", "));
        }

        public String reason() {
            String why = !flagged.isEmpty() ? "flagged: " + String.join(", ", flagged) : "sampled";
            return reviews > 0 ? why + "; second review (agreement)" : why;
        }
    }

    /** Up to {@code limit} records queued for this session, oldest first (ones it holds included). */
    @Transactional
    public List<Entry> list(Session session, Filter filter, int limit) {
        List<Entry> queued = new ArrayList<>();
        scan(session, filter, 0, null, entry -> {
            queued.add(entry);
            return queued.size() >= limit;
        });
        return queued;
    }

    /**
     * The record this session should review now: the one it holds, if still queued, else the oldest queued record
     * after {@code after} (the record just reviewed or skipped) that it manages to claim, else the oldest one before.
     * Empty when the queue holds nothing for it.
     */
    @Transactional
    public Optional<Long> next(Session session, Filter filter, long after) {
        Instant now = Instant.now();
        // claims lapse by their expiry alone; the rows of lapsed ones are dropped here so the table stays small
        em.createNativeQuery("delete from review_assignments where expires_at <= :now").setParameter("now", now).executeUpdate();
        @SuppressWarnings("unchecked")
        List<Number> held = em.createNativeQuery("select audit_id from review_assignments where session_hash = :session"
                        + " and expires_at > :now order by assigned_at desc")
                .setParameter("session", session.id()).setParameter("now", now).getResultList();
        for (Number id : held) {
            if (id.longValue() > after && scan(session, filter, id.longValue() - 1, id.longValue(), entry -> true) != null) {
                return Optional.of(id.longValue());
            }
        }
        Entry claimed = scan(session, filter, after, null, entry -> claim(session, entry, now));
        if (claimed == null && after > 0) {
            // past the end: round again from the start, where the records skipped earlier wait
            claimed = scan(session, filter, 0, null, entry -> claim(session, entry, now));
        }
        return Optional.ofNullable(claimed).map(Entry::id);
    }

    /** Gives up every hold of this session (it signs out), so that other reviewers get those records now. */
    @Transactional
    public void releaseAll(Session session) {
        em.createNativeQuery("delete from review_assignments where session_hash = :session")
                .setParameter("session", session.id()).executeUpdate();
    }

    /**
     * Gives up every hold of the sessions of a key being revoked (those sessions end with it), in the revoking
     * transaction, so that other reviewers get those records now rather than when the claims expire.
     */
    void releaseAllOf(@Observes ApiKeys.Revoked revoked) {
        em.createNativeQuery("delete from review_assignments where session_hash in"
                        + " (select token_hash from review_sessions where key_id = :key)")
                .setParameter("key", revoked.keyId()).executeUpdate();
    }

    /** Gives up this session's hold on a record (a verdict was posted, or the reviewer skipped it). */
    @Transactional
    public void release(Session session, long id) {
        em.createNativeQuery("delete from review_assignments where session_hash = :session and audit_id = :id")
                .setParameter("session", session.id()).setParameter("id", id).executeUpdate();
    }

    /** Why a record is queued for this session, or empty when it is not (reviewed, not drawn, held by another). */
    @Transactional
    public Optional<Entry> queued(Session session, long id) {
        return Optional.ofNullable(scan(session, Filter.NONE, id - 1, id, entry -> true));
    }

    private interface Visit {
        /** @return true to stop at this entry */
        boolean stopAt(Entry entry);
    }

    /** Visits queued entries with id > after (only {@code only} when given), oldest first; the entry stopped at. */
    private Entry scan(Session session, Filter filter, long after, Long only, Visit visit) {
        Instant now = Instant.now();
        Instant since = now.minus(config.window());
        long cursor = after;
        while (true) {
            @SuppressWarnings("unchecked")
            List<Object[]> rows = candidates(session, filter, cursor, only, since, now).getResultList();
            for (Object[] row : rows) {
                cursor = ((Number) row[0]).longValue();
                Entry entry = entry(row);
                if (entry != null && visit.stopAt(entry)) {
                    return entry;
                }
            }
            if (rows.size() < PAGE) {
                return null;
            }
        }
    }

    private Query candidates(Session session, Filter filter, long after, Long only, Instant since, Instant now) {
        StringBuilder sql = new StringBuilder("""
                select a.id, a.tenant, a.policy_id, a.policy_version, a.scores_json, a.applied_json, a.recorded_at, v.reviews
                from audit_records a
                cross join lateral (select count(distinct r.reviewer) as reviews from review_verdicts r
                                    where r.audit_id = a.id) v
                cross join lateral (select cast(a.scores_json as jsonb) as scores, %s as sample_draw,
                                           %s as agreement_draw) d
                where %s and a.recorded_at >= :since and a.id > :after and v.reviews < 2
                  and not exists (select 1 from review_verdicts r where r.audit_id = a.id and r.reviewer = :reviewer)
                  and not exists (select 1 from review_assignments s where s.audit_id = a.id and s.slot = v.reviews + 1
                                  and s.session_hash <> :session and s.expires_at > :now)""".formatted(
                drawBits("sample"), drawBits("agreement"), AuditRecord.DELIVERED_OUTPUT));
        Map<String, Object> params = new LinkedHashMap<>();
        sql.append(" and ").append(queuedCondition(filter, params));
        params.put("since", since);
        params.put("after", after);
        params.put("reviewer", session.reviewer());
        params.put("session", session.id());
        params.put("now", now);
        session.tenantScope().ifPresent(scope -> {
            sql.append(" and a.tenant in (:scope)");
            params.put("scope", scope.isEmpty() ? List.of("") : scope);
        });
        if (filter.tenant() != null) {
            sql.append(" and a.tenant = :tenant");
            params.put("tenant", filter.tenant());
        }
        if (filter.intervention() != null) {
            // applied_json is written compact by AuditLog; the name is checked to hold no LIKE wildcard
            sql.append(" and a.applied_json like :intervention");
            params.put("intervention", "%\"intervention\":\"" + filter.intervention() + "\"%");
        }
        if (filter.policy() != null) {
            sql.append(" and a.policy_id = :policy");
            params.put("policy", filter.policy());
        }
        if (only != null) {
            sql.append(" and a.id = :only");
            params.put("only", only);
        }
        sql.append(" order by a.id limit ").append(PAGE);
        Query query = em.createNativeQuery(sql.toString());
        params.forEach(query::setParameter);
        return query;
    }

    /**
     * What {@link #entry} decides, as SQL over {@code a} (the record), {@code v.reviews} and {@code d} (its scores and
     * draws): per policy in force, a record of it is queued when a scorer's score reaches its threshold or the sample
     * draw falls under review.sample (with {@code flaggedOnly}, only the former), while it has fewer reviewers than it
     * wants (two when the agreement draw falls under review.agreement). A record of a policy no longer in force is not
     * queued, as {@link PolicyEngine#flagged} flags nothing of it.
     */
    private String queuedCondition(Filter filter, Map<String, Object> params) {
        List<String> perPolicy = new ArrayList<>();
        List<Policy> inForce = policies.policies();
        for (int p = 0; p < inForce.size(); p++) {
            Policy policy = inForce.get(p);
            List<String> flags = new ArrayList<>();
            for (int s = 0; s < policy.scorers().size(); s++) {
                Policy.ScorerSpec scorer = policy.scorers().get(s);
                if (scorer.threshold() == null) {
                    continue;
                }
                String key = "k" + p + "_" + s;
                String threshold = "t" + p + "_" + s;
                flags.add("(case when jsonb_typeof(d.scores -> :" + key + ") = 'number' then cast(d.scores ->> :" + key
                        + " as double precision) >= :" + threshold + " else false end)");
                params.put(key, scorer.name());
                params.put(threshold, scorer.threshold());
            }
            String flagged = flags.isEmpty() ? "false" : "(" + String.join(" or ", flags) + ")";
            String why = filter.flaggedOnly() ? flagged : "(" + flagged + " or d.sample_draw < :s" + p + ")";
            perPolicy.add("(a.policy_id = :p" + p + " and " + why + " and v.reviews < case when d.agreement_draw < :g" + p
                    + " then 2 else 1 end)");
            params.put("p" + p, policy.id());
            if (!filter.flaggedOnly()) {
                params.put("s" + p, policy.review().sample() * DRAW_SCALE);
            }
            params.put("g" + p, policy.review().agreement() * DRAW_SCALE);
        }
        return perPolicy.isEmpty() ? "false" : "(" + String.join(" or ", perPolicy) + ")";
    }

    /** {@link #draw} in SQL before the scaling: the top 53 bits of SHA-256("review-purpose:id") as a bigint. */
    private static String drawBits(String purpose) {
        return "(cast(cast('x' || substr(encode(sha256(convert_to('review-" + purpose + ":' || a.id, 'UTF8')), 'hex'), 1, 14)"
                + " as bit(56)) as bigint) >> 3)";
    }

    /** The row as a queue entry, or null when neither a flag nor a draw puts it in the queue (any more). */
    private Entry entry(Object[] row) {
        long id = ((Number) row[0]).longValue();
        String policyId = (String) row[2];
        Map<String, Double> scores = scores((String) row[4]);
        int reviews = ((Number) row[7]).intValue();
        List<String> flagged = policyId == null ? List.of() : policies.flagged(new PolicyRef(policyId, (String) row[3]), scores);
        Policy.ReviewSampling sampling = policyId == null ? Policy.ReviewSampling.NONE
                : policies.policy(policyId).map(Policy::review).orElse(Policy.ReviewSampling.NONE);
        boolean sampled = draw(id, "sample") < sampling.sample();
        if (reviews >= wantedReviews(id, !flagged.isEmpty(), sampling)) {
            return null;
        }
        return new Entry(id, (String) row[1], policyId, instant(row[6]), scores, interventions((String) row[5]), flagged,
                sampled, reviews);
    }

    private boolean claim(Session session, Entry entry, Instant now) {
        Instant at = now.truncatedTo(ChronoUnit.MICROS);
        int taken = em.createNativeQuery("""
                insert into review_assignments (audit_id, slot, session_hash, reviewer, assigned_at, expires_at)
                values (:id, :slot, :session, :reviewer, :at, :expires)
                on conflict (audit_id, slot) do update set session_hash = excluded.session_hash,
                    reviewer = excluded.reviewer, assigned_at = excluded.assigned_at, expires_at = excluded.expires_at
                where review_assignments.expires_at <= excluded.assigned_at
                   or review_assignments.session_hash = excluded.session_hash""")
                .setParameter("id", entry.id()).setParameter("slot", (short) (entry.reviews() + 1))
                .setParameter("session", session.id()).setParameter("reviewer", session.reviewer())
                .setParameter("at", at).setParameter("expires", at.plus(config.assignmentTtl()))
                .executeUpdate();
        if (taken == 1) {
            // one record at a time: whatever this session held before goes back to the queue
            em.createNativeQuery("delete from review_assignments where session_hash = :session and audit_id <> :id")
                    .setParameter("session", session.id()).setParameter("id", entry.id()).executeUpdate();
        }
        return taken == 1;
    }

    /**
     * How many reviewers a record should have: none unless flagged or drawn by review.sample; then one, or two when
     * review.agreement draws it too.
     */
    static int wantedReviews(long id, boolean flagged, Policy.ReviewSampling sampling) {
        if (!flagged && !(draw(id, "sample") < sampling.sample())) {
            return 0;
        }
        return draw(id, "agreement") < sampling.agreement() ? 2 : 1;
    }

    /** A uniform draw in [0, 1) fixed by the record and the purpose. */
    static double draw(long id, String purpose) {
        byte[] digest = DigestUtils.sha256(("review-" + purpose + ":" + id).getBytes(StandardCharsets.UTF_8));
        return (ByteBuffer.wrap(digest).getLong() >>> 11) * 0x1.0p-53;
    }

    private Map<String, Double> scores(String text) {
        Map<String, Double> scores = new LinkedHashMap<>();
        JsonNode node = read(text);
        if (node != null && node.isObject()) {
            node.fields().forEachRemaining(field -> {
                if (field.getValue().isNumber()) {
                    scores.put(field.getKey(), field.getValue().asDouble());
                }
            });
        }
        return scores;
    }

    private List<String> interventions(String text) {
        List<String> names = new ArrayList<>();
        JsonNode node = read(text);
        if (node != null && node.isArray()) {
            node.forEach(applied -> names.add(applied.path("intervention").asText() + " v" + applied.path("version").asText()));
        }
        return names;
    }

    private JsonNode read(String text) {
        return read(json, text);
    }

    /** A JSON column of an audit record as a tree; null when empty or (never expected) malformed. */
    static JsonNode read(ObjectMapper json, String text) {
        try {
            return text == null ? null : json.readTree(text);
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    static Instant instant(Object value) {
        if (value instanceof Instant instant) {
            return instant;
        }
        if (value instanceof OffsetDateTime offset) {
            return offset.toInstant();
        }
        if (value instanceof Timestamp timestamp) {
            return timestamp.toInstant();
        }
        return null;
    }
}
