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
 * @param outcome       {@code passed} (no scorer flagged it), {@code flagged}, {@code unjudged} (planned under a policy
 *                      this gateway neither holds nor finds recorded: no scorer ran, and it was withheld), or
 *                      {@code failed} (no text: the worker's status)
 * @param trace         how the policy planned this rung (null for rung 0: its trace is the record's decision trace)
 * @param chargedTokens the completion tokens charged to the tenant for this attempt: its own and its counterfactual
 *                      row's, each at most the job's maxTokens
 * @param textChars     the length of the undelivered output when {@code text} holds only its first characters
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GenerationAttempt(int rung, String jobKey, String status, List<AppliedIntervention> plan,
        Map<String, Double> scores, List<String> flagged, String outcome, String text, List<String> trace,
        Long chargedTokens, Integer textChars) {

    public static final String PASSED = "passed";
    public static final String FLAGGED = "flagged";
    public static final String UNJUDGED = "unjudged";
    public static final String FAILED = "failed";

    /**
     * The same attempt with the text it did not deliver, cut to {@code maxChars} (a real output is far shorter; only a
     * forged job result is longer, and four rungs of it must not make the stored attempts unbounded).
     */
    GenerationAttempt withUndeliveredText(String undelivered, int maxChars) {
        if (undelivered == null || undelivered.length() <= maxChars) {
            return new GenerationAttempt(rung, jobKey, status, plan, scores, flagged, outcome, undelivered, trace,
                    chargedTokens, null);
        }
        int cut = Character.isHighSurrogate(undelivered.charAt(maxChars - 1)) ? maxChars - 1 : maxChars;
        return new GenerationAttempt(rung, jobKey, status, plan, scores, flagged, outcome, undelivered.substring(0, cut),
                trace, chargedTokens, undelivered.length());
    }
}
