package io.steergate.review;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.audit.AuditQuery;
import io.steergate.audit.AuditViews;
import io.steergate.security.ReviewSessions.Session;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.transaction.Transactional;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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

    /** One intervention of the plan as applied. */
    public record Applied(String intervention, String version, String strength) {}

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
            List<Applied> applied, Map<String, String> scores, List<String> trace, ReviewQueue.Entry queued) {}

    /** The record, when it is one of the session's tenants'; else 404 as for a record that does not exist. */
    @Transactional
    public View view(Session session, long id) {
        AuditViews.Detail detail = audit.get(id, session.tenantScope());
        AuditViews.Item item = detail.item();
        String output = item.output() == null ? "" : item.output();
        String counterfactual = counterfactual(detail).orElse(null);
        WordDiff.Sides sides = counterfactual == null ? new WordDiff.Sides(List.of(new WordDiff.Piece(output, false)), List.of())
                : WordDiff.of(output, counterfactual);
        List<Applied> applied = new ArrayList<>();
        if (item.applied() != null) {
            item.applied().forEach(a -> applied.add(new Applied(a.path("intervention").asText(), a.path("version").asText(),
                    a.path("strength").asText())));
        }
        Map<String, String> scores = new LinkedHashMap<>();
        if (item.scores() != null) {
            item.scores().fields().forEachRemaining(s -> scores.put(s.getKey(), s.getValue().asText()));
        }
        List<String> trace = new ArrayList<>();
        if (detail.decisionTrace() != null) {
            detail.decisionTrace().forEach(line -> trace.add(line.isTextual() ? line.asText() : line.toString()));
        }
        return new View(detail, prompt(item), counterfactual, sides, applied, scores, trace,
                queue.queued(session, id).orElse(null));
    }

    /**
     * THE one place the review UI reads a record's unsteered counterfactual. None is recorded yet: the audit record
     * gains the counterfactual text (with the escalation attempts) on the escalation branch; wire it here when it
     * lands, and the page shows it beside the output with the differing words marked.
     */
    static Optional<String> counterfactual(AuditViews.Detail detail) {
        return Optional.empty();
    }

    /**
     * The prompt of the record's request, from the generation row of (tenant, request id). The audit record keeps the
     * output but not the prompt; the generation row keeps the validated request as JSON. Read here with SQL rather
     * than through the gateway package, which only the wiring (app) may import.
     */
    private String prompt(AuditViews.Item item) {
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
            JsonNode request = json.readTree(rows.get(0));
            return request.path("prompt").isTextual() ? request.path("prompt").asText() : null;
        } catch (JsonProcessingException e) {
            return null;
        }
    }
}
