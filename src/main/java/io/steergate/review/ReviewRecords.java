package io.steergate.review;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.audit.AuditQuery;
import io.steergate.audit.AuditRecord;
import io.steergate.audit.AuditViews;
import io.steergate.policy.Policy;
import io.steergate.policy.PolicyEngine;
import io.steergate.security.ReviewSessions.Session;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.transaction.Transactional;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One audit record as a reviewer sees it: the prompt, the steered output beside the unsteered counterfactual with the
 * words that differ marked, the applied plan, the decision trace, the scores and the reviews so far. The record is
 * read through {@link AuditQuery#get} (the audit API's own read, limited to the session's tenants the same way).
 */
@ApplicationScoped
public class ReviewRecords {

    @Inject
    AuditQuery audit;

    @Inject
    ReviewQueue queue;

    @Inject
    EntityManager em;

    @Inject
    ObjectMapper json;

    @Inject
    PolicyEngine policies;

    /**
     * One intervention of the plan as applied.
     *
     * @param chosenBy what asked for it: the policy's rules that matched (from the decision trace) and apply it, the
     *                 request's styles behind it, an explicit ask
     */
    public record Applied(String intervention, String version, String strength, String chosenBy) {}

    /**
     * The page's content.
     *
     * @param prompt         the request's prompt, or null when the generation row is gone
     * @param counterfactual the unsteered output, or null when none was recorded
     * @param sides          the two outputs cut into pieces, changed words marked (the right side empty without a
     *                       counterfactual)
     * @param queued         why the record is in this session's queue; null when it is not
     */
    public record View(AuditViews.Detail detail, String prompt, String counterfactual, WordDiff.Sides sides,
            List<Applied> applied, Map<String, String> scores, List<String> trace, List<Attempt> attempts,
            ReviewQueue.Entry queued) {

        /** A stream its client closed early: the output is the text the client was sent, not a whole generation. */
        public boolean cancelledStream() {
            AuditViews.Item item = detail.item();
            return AuditRecord.cancelledStream(item.status(), item.error() == null ? null : item.error().code(), item.output());
        }
    }

    /**
     * One generation of an escalated request, as shown: its rung (0: the decided plan), what became of it, its plan,
     * scores and flagging scorers, and the text it did not deliver (empty for the delivered one, the record's output).
     */
    public record Attempt(int rung, String outcome, String plan, String scores, String flagged, String text) {}

    /** The record, when it is one of the session's tenants'; else 404 as for a record that does not exist. */
    @Transactional
    public View view(Session session, long id) {
        AuditViews.Detail detail = audit.get(id, session.tenantScope());
        AuditViews.Item item = detail.item();
        String output = item.output() == null ? "" : item.output();
        String counterfactual = counterfactual(detail).orElse(null);
        WordDiff.Sides sides = counterfactual == null ? new WordDiff.Sides(List.of(new WordDiff.Piece(output, false)), List.of())
                : WordDiff.of(output, counterfactual);
        List<String> trace = new ArrayList<>();
        if (detail.decisionTrace() != null) {
            detail.decisionTrace().forEach(line -> trace.add(line.isTextual() ? line.asText() : line.toString()));
        }
        JsonNode request = request(item);
        Optional<Policy> policy = item.policy() == null || item.policy().id() == null ? Optional.empty()
                : policies.policy(item.policy().id());
        List<Applied> applied = new ArrayList<>();
        if (item.applied() != null) {
            item.applied().forEach(a -> applied.add(new Applied(a.path("intervention").asText(), a.path("version").asText(),
                    a.path("strength").asText(), chosenBy(a.path("intervention").asText(), trace, request, policy))));
        }
        Map<String, String> scores = new LinkedHashMap<>();
        if (item.scores() != null) {
            item.scores().fields().forEachRemaining(s -> scores.put(s.getKey(),
                    s.getValue().isNumber() ? score(s.getValue().asDouble()) : s.getValue().asText()));
        }
        String prompt = request != null && request.path("prompt").isTextual() ? request.path("prompt").asText() : null;
        return new View(detail, prompt, counterfactual, sides, applied, scores, trace, attempts(detail),
                queue.queued(session, id).orElse(null));
    }

    /**
     * What chose an applied intervention, as far as the record tells: the rules the trace says matched whose apply
     * names it, the request's styles the policy maps to it, an explicit ask for it. Judged against the policy in
     * force, which may have changed since (its version is on the page).
     */
    static String chosenBy(String intervention, List<String> trace, JsonNode request, Optional<Policy> policy) {
        List<String> reasons = new ArrayList<>();
        if (policy.isPresent()) {
            for (Policy.Rule rule : policy.get().rules()) {
                boolean matched = trace.stream().anyMatch(line -> line.startsWith("rule " + rule.name() + " matched"));
                if (matched && rule.apply().stream().anyMatch(a -> a.intervention().equals(intervention))) {
                    reasons.add("rule " + rule.name());
                }
            }
        }
        if (request != null) {
            for (JsonNode style : request.path("styles")) {
                String name = style.asText().split(":", 2)[0];
                Policy.StyleGrant grant = policy.map(p -> p.styles().get(name)).orElse(null);
                if (grant != null && grant.intervention().equals(intervention)) {
                    reasons.add("style " + name);
                }
            }
            for (JsonNode ask : request.path("steering")) {
                if (intervention.equals(ask.path("intervention").asText())) {
                    reasons.add("explicit ask");
                }
            }
        }
        return reasons.isEmpty() ? "-" : String.join(", ", reasons);
    }

    /** A score as shown: three decimals (a share of words; the audit API keeps the full value). */
    static String score(double value) {
        return String.format(Locale.ROOT, "%.3f", value);
    }

    /** The escalation attempts of the record (canonical form 2); empty for a request generated once. */
    static List<Attempt> attempts(AuditViews.Detail detail) {
        List<Attempt> attempts = new ArrayList<>();
        if (detail.attempts() == null || !detail.attempts().isArray() || detail.attempts().size() < 2) {
            return attempts;
        }
        for (JsonNode a : detail.attempts()) {
            List<String> plan = new ArrayList<>();
            a.path("plan").forEach(p -> plan.add(p.path("intervention").asText() + " v" + p.path("version").asText()
                    + " at " + p.path("strength").asText()));
            List<String> scores = new ArrayList<>();
            a.path("scores").fields().forEachRemaining(e -> scores.add(e.getKey() + " " + score(e.getValue().asDouble())));
            List<String> flagged = new ArrayList<>();
            a.path("flagged").forEach(f -> flagged.add(f.asText()));
            attempts.add(new Attempt(a.path("rung").asInt(), a.path("outcome").asText(), String.join(", ", plan),
                    String.join(", ", scores), String.join(", ", flagged), a.path("text").asText("")));
        }
        return attempts;
    }

    /**
     * The record's unsteered counterfactual (audit canonical form 2), when its policy sampled one: shown beside the
     * output with the differing words marked.
     */
    static Optional<String> counterfactual(AuditViews.Detail detail) {
        return Optional.ofNullable(detail.counterfactual());
    }

    /**
     * The record's request (its prompt, styles and asks), from the generation row of (tenant, request id). The audit
     * record keeps the output but not the request; the generation row keeps the validated request as JSON. Read here
     * with SQL rather than through the gateway package, which only the wiring (app) may import. Null when gone.
     */
    private JsonNode request(AuditViews.Item item) {
        if (item.tenant() == null) {
            return null;
        }
        @SuppressWarnings("unchecked")
        List<String> rows = em.createNativeQuery("select request_json from generations where tenant = :tenant"
                        + " and request_id = :id")
                .setParameter("id", item.requestId()).setParameter("tenant", item.tenant()).getResultList();
        if (rows.isEmpty() || rows.get(0) == null) {
            return null;
        }
        try {
            return json.readTree(rows.get(0));
        } catch (JsonProcessingException e) {
            return null;
        }
    }
}
