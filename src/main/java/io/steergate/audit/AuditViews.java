package io.steergate.audit;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.JsonNode;
import io.steergate.messages.ErrorInfo;
import java.time.Instant;
import java.util.List;

/** The JSON shapes of the audit API. */
public final class AuditViews {

    private AuditViews() {}

    public record Model(String name, String fingerprint) {}

    public record Policy(String id, String version) {}

    public record Timings(Long queueMs, Long generateMs, Long totalMs) {}

    /**
     * One audit record as listed: applied and scores parsed, the latest review verdict or null; chainSeq and hash are
     * its link in the tenant's chain (AuditChain).
     */
    public record Item(long id, String requestId, String tenant, String status, Model model, Policy policy,
            JsonNode applied, JsonNode scores, String output, ErrorInfo error, Timings timings, Instant recordedAt,
            String latestVerdict, long chainSeq, String hash) {}

    /** One page, newest first; nextCursor is null on the last page. */
    public record Page(List<Item> items, String nextCursor) {}

    public record Review(long id, long auditId, String verdict, String reviewer, String note, Instant createdAt) {}

    /**
     * One record whole: the item, how the policy decided, every generation attempt (rung, plan, scores, flagged,
     * outcome; null for records written before canonical form 2 or without a generation), the unsteered
     * counterfactual (null when none was sampled), its canonical form, and every review, oldest first.
     */
    public record Detail(@JsonUnwrapped Item item, JsonNode decisionTrace, JsonNode attempts, String counterfactual,
            int canonicalForm, List<Review> reviews) {}

    /** The body of POST /v1/audit/{id}/review; reviewer is refused when present (it comes from the credential). */
    public record ReviewRequest(String verdict, String reviewer, String note) {}
}
