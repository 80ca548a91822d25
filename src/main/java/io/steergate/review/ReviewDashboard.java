package io.steergate.review;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.audit.AuditRecord;
import io.steergate.engine.eval.SvgChart;
import io.steergate.policy.Policy;
import io.steergate.policy.PolicyEngine;
import io.steergate.security.ReviewSessions.Session;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.persistence.Query;
import jakarta.transaction.Transactional;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Per intervention, over the session's tenants and steergate.review.window: the violation rate among reviewed
 * outputs per day and version (the latest verdict of each record counts, as in the audit API), and the distribution
 * of each scorer's scores. Drawn with the engine's {@link SvgChart}.
 */
@ApplicationScoped
public class ReviewDashboard {

    /** Outputs read for one dashboard at most (newest first), so a long history bounds its cost. */
    static final int MAX_RECORDS = 20_000;
    static final int BINS = 10;
    /** The dashboard over every output, steered or not. */
    public static final String ALL = "";

    @Inject
    EntityManager em;

    @Inject
    PolicyEngine policies;

    @Inject
    ObjectMapper json;

    @Inject
    ReviewConfig config;

    /** Reviews of one version: how many outputs were reviewed and how their latest verdicts fell. */
    public record Tally(String version, int reviewed, int ok, int violations, int unsure) {

        public String rate() {
            return reviewed == 0 ? "-" : String.format(java.util.Locale.ROOT, "%.1f%%", 100.0 * violations / reviewed);
        }
    }

    /**
     * @param interventions what can be picked: the interventions policies in force name
     * @param rateChart     SVG, or null with no reviewed output yet
     * @param scoreChart    SVG, or null with no scored output yet
     * @param truncated     whether the window holds more outputs than {@link #MAX_RECORDS}, so only the newest count
     */
    public record Dashboard(String intervention, List<String> interventions, int outputs, boolean truncated,
            List<Tally> tallies, String rateChart, String scoreChart) {}

    public Dashboard build(Session session, String intervention) {
        return build(session, intervention, MAX_RECORDS);
    }

    @Transactional
    Dashboard build(Session session, String intervention, int maxRecords) {
        String sql = """
                select a.recorded_at, a.applied_json, a.scores_json,
                       (select v.verdict from review_verdicts v where v.audit_id = a.id order by v.id desc limit 1)
                from audit_records a
                where """ + AuditRecord.DELIVERED_OUTPUT + " and a.recorded_at >= :since";
        if (session.tenantScope().isPresent()) {
            sql += " and a.tenant in (:scope)";
        }
        if (!intervention.equals(ALL)) {
            sql += " and a.applied_json like :intervention";
        }
        // one more than is read, to know whether the window holds more
        Query query = em.createNativeQuery(sql + " order by a.id desc limit " + (maxRecords + 1));
        query.setParameter("since", Instant.now().minus(config.window()));
        session.tenantScope().ifPresent(scope -> query.setParameter("scope", scope.isEmpty() ? List.of("") : scope));
        if (!intervention.equals(ALL)) {
            query.setParameter("intervention", "%\"intervention\":\"" + intervention + "\"%");
        }
        @SuppressWarnings("unchecked")
        List<Object[]> read = query.getResultList();
        boolean truncated = read.size() > maxRecords;
        List<Object[]> rows = truncated ? read.subList(0, maxRecords) : read;

        // version -> day -> {reviewed, violations}
        Map<String, TreeMap<LocalDate, int[]>> byDay = new TreeMap<>();
        Map<String, int[]> counts = new TreeMap<>();
        Map<String, List<Double>> scores = new TreeMap<>();
        for (Object[] row : rows) {
            for (Map.Entry<String, JsonNode> score : fields(read((String) row[2]))) {
                if (score.getValue().isNumber()) {
                    scores.computeIfAbsent(score.getKey(), k -> new ArrayList<>()).add(score.getValue().asDouble());
                }
            }
            String verdict = (String) row[3];
            if (verdict == null) {
                continue;
            }
            String version = version(read((String) row[1]), intervention);
            LocalDate day = LocalDate.ofInstant(ReviewQueue.instant(row[0]), ZoneOffset.UTC);
            int[] perDay = byDay.computeIfAbsent(version, v -> new TreeMap<>()).computeIfAbsent(day, d -> new int[2]);
            int[] total = counts.computeIfAbsent(version, v -> new int[3]);
            perDay[0]++;
            switch (verdict) {
                case "violation" -> {
                    perDay[1]++;
                    total[1]++;
                }
                case "unsure" -> total[2]++;
                default -> total[0]++;
            }
        }
        List<Tally> tallies = new ArrayList<>();
        counts.forEach((version, c) -> tallies.add(new Tally(version, c[0] + c[1] + c[2], c[0], c[1], c[2])));
        return new Dashboard(intervention, interventions(), rows.size(), truncated, tallies, rateChart(byDay, intervention),
                scoreChart(scores));
    }

    private static String rateChart(Map<String, TreeMap<LocalDate, int[]>> byDay, String intervention) {
        if (byDay.isEmpty()) {
            return null;
        }
        LocalDate first = byDay.values().stream().map(TreeMap::firstKey).min(LocalDate::compareTo).orElseThrow();
        SvgChart chart = new SvgChart("Violation rate among reviewed outputs"
                + (intervention.equals(ALL) ? "" : " (" + intervention + ")"), "day since " + first + " (UTC)", "violations / reviewed");
        byDay.forEach((version, days) -> {
            double[] x = new double[days.size()];
            double[] y = new double[days.size()];
            int i = 0;
            for (Map.Entry<LocalDate, int[]> day : days.entrySet()) {
                x[i] = ChronoUnit.DAYS.between(first, day.getKey());
                y[i++] = (double) day.getValue()[1] / day.getValue()[0];
            }
            chart.series(version, x, y);
        });
        return chart.render();
    }

    private static String scoreChart(Map<String, List<Double>> scores) {
        if (scores.isEmpty()) {
            return null;
        }
        double max = Math.max(0.05, scores.values().stream().flatMap(List::stream).mapToDouble(Double::doubleValue).max().orElse(0));
        double width = max / BINS;
        SvgChart chart = new SvgChart("Score distribution", "score (share of words), bin centre", "outputs");
        scores.forEach((scorer, values) -> {
            double[] x = new double[BINS];
            double[] y = new double[BINS];
            for (int b = 0; b < BINS; b++) {
                x[b] = (b + 0.5) * width;
            }
            for (double value : values) {
                y[Math.min(BINS - 1, (int) (value / width))]++;
            }
            chart.series(scorer, x, y);
        });
        return chart.render();
    }

    /** The version of {@code intervention} in a plan ("v2"); for the dashboard over all outputs, "all". */
    private static String version(JsonNode applied, String intervention) {
        if (intervention.equals(ALL)) {
            return "all";
        }
        if (applied != null) {
            for (JsonNode entry : applied) {
                if (intervention.equals(entry.path("intervention").asText())) {
                    return "v" + entry.path("version").asText();
                }
            }
        }
        return "?";
    }

    /** The interventions the policies in force name: what the dashboard and the queue's filter offer. */
    public List<String> interventions() {
        TreeSet<String> names = new TreeSet<>();
        policies.policies().stream().map(Policy::interventions).forEach(names::addAll);
        return List.copyOf(names);
    }

    /** The ids of the policies in force: what the queue's filter offers. */
    public List<String> policies() {
        return policies.policies().stream().map(Policy::id).sorted().toList();
    }

    private static Iterable<Map.Entry<String, JsonNode>> fields(JsonNode node) {
        return node == null || !node.isObject() ? List.of() : node::fields;
    }

    private JsonNode read(String text) {
        return ReviewQueue.read(json, text);
    }
}
