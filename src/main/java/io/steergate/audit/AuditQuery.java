package io.steergate.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.Identifiers;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.persistence.Query;
import jakarta.transaction.Transactional;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;

/** Reads audit records with their review verdicts, and appends reviews. Every bad parameter is a 400 that names it. */
@ApplicationScoped
public class AuditQuery {

    private static final Logger LOG = Logger.getLogger(AuditQuery.class);

    public static final int DEFAULT_LIMIT = 50;
    public static final int MAX_LIMIT = 500;
    static final Set<String> VERDICTS = Set.of("ok", "violation", "unsure");
    static final String UNREVIEWED = "unreviewed";
    private static final Pattern SCORER = Pattern.compile("[A-Za-z0-9_.-]{1,128}");
    static final Pattern TENANT = Identifiers.TENANT;
    private static final String CURSOR_PREFIX = "id:";
    private static final int MAX_NOTE = 10_000;

    @Inject
    EntityManager em;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry metrics;

    /** The raw query parameters, all optional, as they came over HTTP. */
    public record Filter(String tenant, String from, String to, String intervention, String verdict, String scorer,
            String minScore, String maxScore, String limit, String cursor) {}

    /**
     * A page of records matching {@code filter} among the tenants of {@code scope} (empty: every tenant's).
     */
    @Transactional
    public AuditViews.Page search(Filter filter, Optional<Set<String>> scope) {
        StringBuilder sql = new StringBuilder("select a.* from audit_records a where 1 = 1");
        Map<String, Object> params = new LinkedHashMap<>();
        if (scope.isPresent()) {
            sql.append(" and a.tenant in (:scope)");
            params.put("scope", scope.get().isEmpty() ? Set.of("") : scope.get());
        }
        if (present(filter.tenant())) {
            if (!TENANT.matcher(filter.tenant()).matches()) {
                throw ApiError.badField("tenant", "must be 1-64 characters of [a-z0-9-]");
            }
            sql.append(" and a.tenant = :tenant");
            params.put("tenant", filter.tenant());
        }
        Instant from = instant("from", filter.from());
        Instant to = instant("to", filter.to());
        if (from != null && to != null && !from.isBefore(to)) {
            throw ApiError.badField("from", "must be before to");
        }
        if (from != null) {
            sql.append(" and a.recorded_at >= :from");
            params.put("from", from);
        }
        if (to != null) {
            sql.append(" and a.recorded_at < :to");
            params.put("to", to);
        }
        if (present(filter.intervention())) {
            if (!Identifiers.NAME.matcher(filter.intervention()).matches()) {
                throw ApiError.badField("intervention", "must be an intervention name: 1-64 characters of [a-z0-9-], starting with a letter or digit");
            }
            // applied_json is written compact by AuditLog, and the name holds no LIKE wildcard
            sql.append(" and a.applied_json like :intervention");
            params.put("intervention", "%\"intervention\":\"" + filter.intervention() + "\"%");
        }
        if (present(filter.verdict())) {
            if (!VERDICTS.contains(filter.verdict()) && !UNREVIEWED.equals(filter.verdict())) {
                throw ApiError.badField("verdict", "must be one of ok, violation, unsure, unreviewed");
            }
            sql.append(" and coalesce((select v.verdict from review_verdicts v where v.audit_id = a.id"
                    + " order by v.id desc limit 1), 'unreviewed') = :verdict");
            params.put("verdict", filter.verdict());
        }
        Double min = number("minScore", filter.minScore());
        Double max = number("maxScore", filter.maxScore());
        if (present(filter.scorer())) {
            if (!SCORER.matcher(filter.scorer()).matches()) {
                throw ApiError.badField("scorer", "must be 1-128 characters of [A-Za-z0-9_.-]");
            }
            String score = "(case when jsonb_typeof(cast(a.scores_json as jsonb) -> :scorer) = 'number'"
                    + " then cast(cast(a.scores_json as jsonb) ->> :scorer as double precision) end)";
            params.put("scorer", filter.scorer());
            sql.append(" and ").append(score).append(" is not null");
            if (min != null) {
                sql.append(" and ").append(score).append(" >= :minScore");
                params.put("minScore", min);
            }
            if (max != null) {
                sql.append(" and ").append(score).append(" <= :maxScore");
                params.put("maxScore", max);
            }
            if (min != null && max != null && min > max) {
                throw ApiError.badField("minScore", "must not exceed maxScore");
            }
        } else if (min != null) {
            throw ApiError.badField("minScore", "needs scorer");
        } else if (max != null) {
            throw ApiError.badField("maxScore", "needs scorer");
        }
        int limit = limit(filter.limit());
        Long after = cursor(filter.cursor());
        if (after != null) {
            sql.append(" and a.id < :after");
            params.put("after", after);
        }
        sql.append(" order by a.id desc limit :limit");
        params.put("limit", limit + 1);

        Query query = em.createNativeQuery(sql.toString(), AuditRecord.class);
        params.forEach(query::setParameter);
        @SuppressWarnings("unchecked")
        List<AuditRecord> rows = new ArrayList<>(query.getResultList());
        String next = null;
        if (rows.size() > limit) {
            rows = rows.subList(0, limit);
            next = encodeCursor(rows.get(limit - 1).id);
        }
        Map<Long, String> verdicts = latestVerdicts(rows.stream().map(r -> r.id).toList());
        List<AuditViews.Item> items = rows.stream().map(r -> item(r, verdicts.get(r.id))).toList();
        return new AuditViews.Page(items, next);
    }

    /** One record of a tenant in {@code scope} (empty: any); another tenant's record is as unknown as a missing one. */
    @Transactional
    public AuditViews.Detail get(long id, Optional<Set<String>> scope) {
        AuditRecord record = AuditRecord.findById(id);
        if (record == null || !inScope(record, scope)) {
            throw ApiError.notFound("audit record " + id);
        }
        List<AuditViews.Review> reviews = ReviewVerdict.<ReviewVerdict>list("auditId = ?1 order by id", id).stream()
                .map(AuditQuery::review).toList();
        String latest = reviews.isEmpty() ? null : reviews.get(reviews.size() - 1).verdict();
        return new AuditViews.Detail(item(record, latest), parse(record.decisionTraceJson), parse(record.attemptsJson),
                record.counterfactualText, record.entry().canonicalForm(), reviews);
    }

    /**
     * Appends a verdict by {@code reviewer} (the credential's name) to a record of a tenant in {@code scope}. A body
     * that names a reviewer is refused: who reviewed is what the credential says, never what a body claims.
     */
    @Transactional
    public AuditViews.Review review(long id, AuditViews.ReviewRequest request, String reviewer, Optional<Set<String>> scope) {
        if (request == null) {
            throw ApiError.badField("body", "must be a JSON object {verdict, note?}");
        }
        if (request.reviewer() != null) {
            throw ApiError.badField("reviewer", "is taken from the credential; leave it out of the body");
        }
        if (request.verdict() == null || !VERDICTS.contains(request.verdict())) {
            throw ApiError.badField("verdict", "must be one of ok, violation, unsure");
        }
        if (request.note() != null && request.note().length() > MAX_NOTE) {
            throw ApiError.badField("note", "must be at most " + MAX_NOTE + " characters");
        }
        // a note from JSON "\u0000" (or the review form)
        ApiError.textField("note", request.note());
        AuditRecord record = AuditRecord.findById(id);
        if (record == null || !inScope(record, scope)) {
            throw ApiError.notFound("audit record " + id);
        }
        ReviewVerdict verdict = new ReviewVerdict();
        verdict.auditId = id;
        verdict.verdict = request.verdict();
        verdict.reviewer = reviewer;
        verdict.note = request.note();
        verdict.createdAt = Instant.now();
        verdict.persist();
        LOG.infof("audit review: record=%d verdict=%s reviewer=%s", id, verdict.verdict, verdict.reviewer);
        metrics.counter("steergate.audit.reviews", "verdict", verdict.verdict).increment();
        return review(verdict);
    }

    private static boolean inScope(AuditRecord record, Optional<Set<String>> scope) {
        return scope.isEmpty() || (record.tenant != null && scope.get().contains(record.tenant));
    }

    private Map<Long, String> latestVerdicts(List<Long> ids) {
        Map<Long, String> latest = new HashMap<>();
        if (ids.isEmpty()) {
            return latest;
        }
        List<ReviewVerdict> verdicts = ReviewVerdict.<ReviewVerdict>list(
                "id in (select max(r.id) from ReviewVerdict r where r.auditId in ?1 group by r.auditId)", ids);
        verdicts.forEach(v -> latest.put(v.auditId, v.verdict));
        return latest;
    }

    private AuditViews.Item item(AuditRecord r, String latestVerdict) {
        AuditViews.Model model = r.modelName == null && r.modelFingerprint == null ? null
                : new AuditViews.Model(r.modelName, r.modelFingerprint);
        AuditViews.Policy policy = r.policyId == null && r.policyVersion == null ? null
                : new AuditViews.Policy(r.policyId, r.policyVersion);
        ErrorInfo error = r.errorCode == null && r.errorMessage == null ? null : new ErrorInfo(r.errorCode, r.errorMessage);
        AuditViews.Timings timings = r.queueMs == null && r.generateMs == null && r.totalMs == null ? null
                : new AuditViews.Timings(r.queueMs, r.generateMs, r.totalMs);
        return new AuditViews.Item(r.id, r.requestId, r.tenant, r.status, model, policy, parse(r.appliedJson),
                parse(r.scoresJson), r.outputText, error, timings, r.recordedAt, latestVerdict, r.chainSeq, r.hash);
    }

    private static AuditViews.Review review(ReviewVerdict v) {
        return new AuditViews.Review(v.id, v.auditId, v.verdict, v.reviewer, v.note, v.createdAt);
    }

    private JsonNode parse(String text) {
        if (text == null) {
            return null;
        }
        try {
            return json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("audit record holds malformed JSON", e);
        }
    }

    private static boolean present(String value) {
        return value != null && !value.isEmpty();
    }

    private static Instant instant(String name, String value) {
        if (!present(value)) {
            return null;
        }
        return ApiError.instantField(name, value, "2025-01-31T12:00:00Z");
    }

    private static Double number(String name, String value) {
        if (!present(value)) {
            return null;
        }
        try {
            double parsed = Double.parseDouble(value);
            if (!Double.isFinite(parsed)) {
                throw new NumberFormatException();
            }
            return parsed;
        } catch (NumberFormatException e) {
            throw ApiError.badField(name, "must be a finite number");
        }
    }

    private static int limit(String value) {
        return present(value) ? ApiError.wholeNumberField("limit", value, 1, MAX_LIMIT) : DEFAULT_LIMIT;
    }

    static String encodeCursor(long id) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString((CURSOR_PREFIX + id).getBytes(StandardCharsets.UTF_8));
    }

    static Long cursor(String value) {
        if (!present(value)) {
            return null;
        }
        try {
            String decoded = new String(Base64.getUrlDecoder().decode(value), StandardCharsets.UTF_8);
            if (decoded.startsWith(CURSOR_PREFIX)) {
                long id = Long.parseLong(decoded.substring(CURSOR_PREFIX.length()));
                if (id > 0) {
                    return id;
                }
            }
        } catch (IllegalArgumentException e) {
            // falls through to the refusal (NumberFormatException is one)
        }
        throw ApiError.badField("cursor", "not a cursor this API returned");
    }
}
