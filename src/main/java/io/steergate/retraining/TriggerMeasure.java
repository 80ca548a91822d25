package io.steergate.retraining;

import io.steergate.audit.AuditRecord;
import io.steergate.policy.Policy;
import io.steergate.policy.RetrainingTrigger;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.persistence.Query;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The rate a retraining trigger measures, over the completed audit records of a set of tenants that applied an
 * intervention (any version, or one version for a watch) within a time range. Reviews: among records with a review
 * verdict, the share whose latest verdict is the trigger's. Scorer: among records with that score, the share above
 * the trigger's {@code above}.
 */
@ApplicationScoped
public class TriggerMeasure {

    /** Violating record ids kept as evidence (and whose outputs join the prompt set) at most, newest first. */
    static final int MAX_VIOLATING = 500;

    @Inject
    EntityManager em;

    /**
     * The tenants measured: a policy's own, or, for the fallback policy ({@code '*'}), every tenant but those other
     * policies name.
     */
    public record Scope(List<String> tenants, List<String> allBut) {

        public Scope {
            tenants = tenants == null ? null : List.copyOf(tenants);
            allBut = allBut == null ? null : List.copyOf(allBut);
        }

        static Scope of(Policy policy, Collection<Policy> inForce) {
            if (!policy.tenants().contains(Policy.ANY_TENANT)) {
                return new Scope(policy.tenants(), null);
            }
            Set<String> others = new LinkedHashSet<>();
            inForce.stream().filter(p -> !p.id().equals(policy.id())).forEach(p -> others.addAll(p.tenants()));
            others.remove(Policy.ANY_TENANT);
            return new Scope(null, List.copyOf(others));
        }

        /** Whether a caller limited to {@code held} tenants may see what was measured: every tenant of it is held. */
        boolean within(Set<String> held) {
            return tenants != null && held.containsAll(tenants);
        }
    }

    /** What was counted: the rate is violating / counted (0 when nothing was counted). */
    public record Measurement(long counted, long violating, List<Long> violatingIds, Instant from, Instant to) {

        public Measurement {
            violatingIds = List.copyOf(violatingIds);
        }

        public double rate() {
            return counted == 0 ? 0 : (double) violating / counted;
        }
    }

    /** Measures {@code measure} over [from, to); {@code version} null counts every version of the intervention. */
    public Measurement measure(String intervention, Integer version, RetrainingTrigger.Measure measure, Scope scope,
            Instant from, Instant to) {
        Map<String, Object> params = new LinkedHashMap<>();
        String measured = measured(intervention, version, measure, scope, from, to, params);
        Object[] counts = (Object[]) query("select count(*), count(*) filter (where violating) from (" + measured + ") m",
                params).getSingleResult();
        List<Long> ids = new ArrayList<>();
        Query violating = query("select id from (" + measured + ") m where violating order by id desc limit :max", params)
                .setParameter("max", MAX_VIOLATING);
        for (Object id : violating.getResultList()) {
            ids.add(((Number) id).longValue());
        }
        return new Measurement(((Number) counts[0]).longValue(), ((Number) counts[1]).longValue(), ids, from, to);
    }

    /** The output texts of these audit records that have one, in the order given. */
    public List<String> outputs(List<Long> ids) {
        if (ids.isEmpty()) {
            return List.of();
        }
        Map<Long, String> byId = new LinkedHashMap<>();
        for (Object row : em.createNativeQuery("select id, output_text from audit_records where id in (:ids) and output_text is not null")
                .setParameter("ids", ids).getResultList()) {
            Object[] columns = (Object[]) row;
            byId.put(((Number) columns[0]).longValue(), (String) columns[1]);
        }
        return ids.stream().map(byId::get).filter(text -> text != null && !text.isBlank()).toList();
    }

    /** One row per counted record: its id and whether it violates. */
    private static String measured(String intervention, Integer version, RetrainingTrigger.Measure measure, Scope scope,
            Instant from, Instant to, Map<String, Object> params) {
        StringBuilder where = new StringBuilder(" from audit_records a where " + AuditRecord.DELIVERED_OUTPUT
                + " and a.recorded_at >= :from and a.recorded_at < :to"
                + " and exists (select 1 from jsonb_array_elements(cast(a.applied_json as jsonb)) e"
                + " where e ->> 'intervention' = :intervention");
        params.put("from", from);
        params.put("to", to);
        params.put("intervention", intervention);
        if (version != null) {
            where.append(" and e ->> 'version' = :version");
            params.put("version", version.toString());
        }
        where.append(")");
        if (scope.tenants() != null) {
            where.append(" and a.tenant in (:tenants)");
            params.put("tenants", scope.tenants());
        } else if (!scope.allBut().isEmpty()) {
            where.append(" and (a.tenant is null or a.tenant not in (:allBut))");
            params.put("allBut", scope.allBut());
        }
        if (measure.kind() == RetrainingTrigger.Kind.REVIEWS) {
            params.put("verdict", measure.verdict());
            // the latest verdict of a record counts (review_verdicts is append-only)
            return "select id, latest = :verdict as violating from (select a.id, (select v.verdict from review_verdicts v"
                    + " where v.audit_id = a.id order by v.id desc limit 1) as latest" + where + ") r where latest is not null";
        }
        params.put("scorer", measure.scorer());
        params.put("above", measure.above());
        return "select id, score > :above as violating from (select a.id, case when jsonb_typeof(cast(a.scores_json as jsonb)"
                + " -> :scorer) = 'number' then cast(cast(a.scores_json as jsonb) ->> :scorer as double precision) end as score"
                + where + ") s where score is not null";
    }

    private Query query(String sql, Map<String, Object> params) {
        Query query = em.createNativeQuery(sql);
        params.forEach(query::setParameter);
        return query;
    }
}
