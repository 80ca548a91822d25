package io.steergate.gateway;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.steergate.messages.AppliedIntervention;
import java.util.List;
import java.util.Map;

/**
 * One generation of a request as its audit record keeps it (the {@code attempts} of canonical form 2): which rung of
 * the policy's escalation ladder (0: the decided plan), the plan the worker applied, the scores and the scorers over
 * their thresholds, and what became of it. {@code text} is kept only for an output that was not delivered (escalated
 * past or withheld): the delivered one is the record's output text.
 *
 * @param outcome {@code passed} (no scorer flagged it), {@code flagged}, or {@code failed} (no text: the worker's status)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GenerationAttempt(int rung, String jobKey, String status, List<AppliedIntervention> plan,
        Map<String, Double> scores, List<String> flagged, String outcome, String text) {

    public static final String PASSED = "passed";
    public static final String FLAGGED = "flagged";
    public static final String FAILED = "failed";

    /** The same attempt with the text it did not deliver. */
    GenerationAttempt withUndeliveredText(String undelivered) {
        return new GenerationAttempt(rung, jobKey, status, plan, scores, flagged, outcome, undelivered);
    }
}
