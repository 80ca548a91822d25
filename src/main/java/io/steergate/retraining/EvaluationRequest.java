package io.steergate.retraining;

/**
 * What a job's candidate is measured with (the {@code evaluation} object of a training request, and the job's stored
 * evaluation_spec_json): a stored prompt set of held-out prompts that shares no text with the training sets, the
 * concept lexicon whose rate must fall, optionally a desired-side lexicon (reported only), and the strength both maps
 * are measured at (default {@code steergate.retraining.gate.strength}). Lexicon names are files
 * lexicons/&lt;name&gt;.txt under the policy directory.
 */
public record EvaluationRequest(String prompts, String concept, String desired, Double strength) {}
