package io.steergate.review;

import com.fasterxml.jackson.databind.JsonNode;
import io.steergate.engine.eval.SvgChart;
import io.steergate.intervention.InterventionRegistry;
import io.steergate.retraining.RetrainingJobSummary;
import io.steergate.retraining.RetrainingService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The operators' pages of retraining: jobs per intervention with their state, one job with its loss curve and its
 * evaluation gate report, and whether its version awaits an operator's approval; and, for the dashboard, concept rate
 * against strength as the stored gate reports measured it. Reads through {@link RetrainingService} and
 * {@link InterventionRegistry}, as the API does; draws with the engine's {@link SvgChart}.
 */
@ApplicationScoped
public class RetrainingViews {

    /**
     * Jobs the retraining page lists, newest first: it is for what runs and what awaits approval, which are the newest
     * jobs; 100 rows is more than a reader scans, and reading every job (each with its loss history) grows without
     * bound. GET /v1/retraining-jobs?limit= reads up to 500.
     */
    static final int LISTED_JOBS = 100;

    /**
     * Gate reports the concept chart draws, the newest evaluated jobs': each adds the point of its candidate's version
     * and of what it was measured against, so 50 reports draw up to 51 version series, past what a reader tells apart
     * with the chart's 8 colours; older reports add nothing readable and only lengthen the read.
     */
    static final int CONCEPT_CHART_REPORTS = 50;

    @Inject
    RetrainingService jobs;

    @Inject
    InterventionRegistry registry;

    /** A job in the list: its state and what became of its version. */
    public record Row(UUID id, String intervention, String method, String status, String gate, Integer version,
            String versionStatus, String requestedBy, Instant createdAt) {

        /** The job id's first eight characters: enough to tell the jobs of a list apart. */
        public String shortId() {
            return id.toString().substring(0, 8);
        }

        /** A candidate an operator may approve or reject: trained, evaluated or not, neither promoted nor retired. */
        public boolean awaitsApproval() {
            return "candidate".equals(versionStatus);
        }
    }

    /** A rate with its 95% interval, as shown: "12.5% [8.1%, 18.0%] (50/400)". */
    public record Rate(String rate, String interval, String counts) {}

    /**
     * The gate report as the job page shows it.
     *
     * @param against what the candidate was measured against ("unsteered", "active version 2")
     */
    public record Gate(String verdict, List<String> reasons, String against, String strength, String heldOut,
            String concept, Rate candidate, Rate baseline, String difference, String candidatePerplexity,
            String baselinePerplexity, String perplexityRatio, String perplexityTolerance, String promotion) {}

    /**
     * One job's page.
     *
     * @param lossChart SVG, or null when the job has no loss curve (a method without a loss, or not started)
     * @param gate      null when the job was not evaluated (or not yet)
     * @param versionGateOverrideBy who promoted the version over a REFUSED gate, or null
     */
    public record Job(Row row, RetrainingJobSummary summary, String lossChart, int lossPoints, Gate gate,
            String versionGateOverrideBy) {}

    /** The newest {@value #LISTED_JOBS} jobs of one intervention (of all with null), newest first. */
    public List<Row> list(String intervention) {
        Map<String, Map<Integer, InterventionRegistry.VersionSummary>> versions = new TreeMap<>();
        return jobs.list(intervention, LISTED_JOBS).stream().map(job -> row(job, versions)).toList();
    }

    public Optional<Job> job(UUID id) {
        return jobs.get(id).map(job -> {
            Map<String, Map<Integer, InterventionRegistry.VersionSummary>> versions = new TreeMap<>();
            Row row = row(job, versions);
            InterventionRegistry.VersionSummary version = version(job.intervention(), job.resultVersion(), versions);
            JsonNode losses = job.lossHistory();
            return new Job(row, job, lossChart(job, losses), losses == null ? 0 : losses.size(), gate(job.gateReport()),
                    version == null ? null : version.gateOverrideBy());
        });
    }

    /**
     * Concept rate against strength for one intervention, from the stored gate reports: each report measured its
     * candidate (and what it was compared with) at one strength, so a version holds as many points as strengths it
     * was measured at; the unsteered model is strength 0. Drawn from the newest {@value #CONCEPT_CHART_REPORTS}
     * reports. Null when no report exists.
     */
    public String conceptChart(String intervention) {
        Map<String, TreeMap<Double, Double>> series = new TreeMap<>();
        String concept = null;
        for (JsonNode report : jobs.gateReports(intervention, CONCEPT_CHART_REPORTS)) {
            if (!report.path("strength").isNumber()) {
                continue;
            }
            double strength = report.path("strength").asDouble();
            concept = concept == null ? report.path("concept").path("lexicon").asText() : concept;
            point(series, "v" + report.path("version").asText(), strength, report.path("candidate"));
            JsonNode baseline = report.path("baseline");
            if (baseline.path("version").isNumber()) {
                point(series, "v" + baseline.path("version").asText(), strength, baseline);
            } else {
                point(series, "unsteered", 0, baseline);
            }
        }
        if (series.isEmpty()) {
            return null;
        }
        SvgChart chart = new SvgChart("Concept rate against strength (" + intervention + ", gate evaluations)",
                "steering strength", "share of outputs with " + concept + " words");
        series.forEach((name, points) -> chart.series(name, points.keySet().stream().mapToDouble(Double::doubleValue).toArray(),
                points.values().stream().mapToDouble(Double::doubleValue).toArray()));
        return chart.render();
    }

    /** The job with its version's status now; {@code versions} caches the registry's reads for a listing. */
    private Row row(RetrainingJobSummary job, Map<String, Map<Integer, InterventionRegistry.VersionSummary>> versions) {
        InterventionRegistry.VersionSummary version = version(job.intervention(), job.resultVersion(), versions);
        return new Row(job.id(), job.intervention(), job.method(), job.status(), job.gate(), job.resultVersion(),
                version == null ? null : version.status(), job.requestedBy(), job.createdAt());
    }

    private InterventionRegistry.VersionSummary version(String intervention, Integer number,
            Map<String, Map<Integer, InterventionRegistry.VersionSummary>> cache) {
        if (number == null) {
            return null;
        }
        return cache.computeIfAbsent(intervention, name -> {
            Map<Integer, InterventionRegistry.VersionSummary> byNumber = new TreeMap<>();
            registry.get(name).ifPresent(i -> i.versions().forEach(v -> byNumber.put(v.version(), v)));
            return byNumber;
        }).get(number);
    }

    /** A measurement (when the report holds one) as the latest point of its series at that strength. */
    private static void point(Map<String, TreeMap<Double, Double>> series, String name, double strength, JsonNode measured) {
        JsonNode rate = measured.path("concept").path("rate");
        if (rate.isNumber()) {
            series.computeIfAbsent(name, n -> new TreeMap<>()).putIfAbsent(strength, rate.asDouble());
        }
    }

    private static String lossChart(RetrainingJobSummary job, JsonNode losses) {
        if (losses == null || !losses.isArray() || losses.isEmpty()) {
            return null;
        }
        double[] steps = new double[losses.size()];
        double[] values = new double[losses.size()];
        for (int i = 0; i < losses.size(); i++) {
            steps[i] = losses.get(i).get(0).asDouble();
            values[i] = losses.get(i).get(1).asDouble();
        }
        return new SvgChart("Training loss (" + job.method() + ", " + job.intervention() + ")", "step", "loss")
                .series("loss", steps, values).render();
    }

    private static Gate gate(JsonNode report) {
        if (report == null || report.isNull()) {
            return null;
        }
        List<String> reasons = new ArrayList<>();
        report.path("reasons").forEach(r -> reasons.add(r.asText()));
        JsonNode difference = report.path("conceptDifference");
        return new Gate(report.path("verdict").asText(), reasons, report.path("baseline").path("against").asText(),
                number(report.path("strength"), "%.2f"),
                report.path("heldOut").path("promptSet").asText() + " (" + report.path("heldOut").path("size").asText()
                        + " prompts)",
                report.path("concept").path("lexicon").asText(), rate(report.path("candidate").path("concept")),
                rate(report.path("baseline").path("concept")),
                String.format(Locale.ROOT, "%+.1f points [%+.1f, %+.1f]", 100 * difference.path("estimate").asDouble(),
                        100 * difference.path("low").asDouble(), 100 * difference.path("high").asDouble()),
                number(report.path("candidate").path("perplexity"), "%.3f"),
                number(report.path("baseline").path("perplexity"), "%.3f"), number(report.path("perplexityRatio"), "%.4f"),
                number(report.path("perplexityTolerance"), "%.2f"), report.path("promotion").asText(null));
    }

    private static Rate rate(JsonNode rate) {
        if (!rate.path("rate").isNumber()) {
            return new Rate("-", "", "");
        }
        return new Rate(percent(rate.path("rate")), "[" + percent(rate.path("low")) + ", " + percent(rate.path("high")) + "]",
                rate.path("hits").asText() + "/" + rate.path("total").asText());
    }

    private static String percent(JsonNode value) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * value.asDouble());
    }

    private static String number(JsonNode value, String format) {
        return value.isNumber() ? String.format(Locale.ROOT, format, value.asDouble()) : "-";
    }
}
