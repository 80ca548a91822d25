package io.steergate.policy;

import io.steergate.messages.AppliedIntervention;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.PolicyRef;
import java.util.List;

/**
 * What the policy decided for one request: the policy version, and either the ordered plan or a rejection; in both
 * cases the trace of how (rules matched or skipped, asks clamped or denied, caps applied), bounded in size whatever
 * the request (see {@link DecisionTrace}).
 *
 * @param policy    the deciding policy's id and content version; null when no policy covers the tenant
 * @param entries   the ordered plan; empty when rejected
 * @param trace     human-readable steps of the decision, in order; repeats counted, at most 64 lines and 8,000 characters
 * @param rejection the error to answer with (status REJECTED), or null when a plan was decided
 * @param counterfactual the counterfactual sampling of the first matched rule that asks for it, or null
 */
public record Decision(PolicyRef policy, List<PlanEntry> entries, List<String> trace, ErrorInfo rejection,
        Policy.Counterfactual counterfactual) {

    public Decision {
        entries = List.copyOf(entries);
        trace = List.copyOf(DecisionTrace.bounded(trace));
    }

    public static Decision planned(PolicyRef policy, List<PlanEntry> entries, List<String> trace,
            Policy.Counterfactual counterfactual) {
        return new Decision(policy, entries, trace, null, counterfactual);
    }

    public static Decision rejected(PolicyRef policy, ErrorInfo rejection, List<String> trace) {
        return new Decision(policy, List.of(), trace, rejection, null);
    }

    /** Whether the request with this generation seed also gets its unsteered continuation ({@link Policy.Counterfactual#drawn}). */
    public boolean counterfactualDrawn(long seed) {
        return counterfactual != null && counterfactual.drawn(seed);
    }

    public boolean isRejected() {
        return rejection != null;
    }

    /** The plan as it travels in Job and GenerationResult.applied: intervention, version, strength. */
    public List<AppliedIntervention> plan() {
        return entries.stream().map(PlanEntry::toApplied).toList();
    }
}
