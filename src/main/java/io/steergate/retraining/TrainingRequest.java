package io.steergate.retraining;

/**
 * The body of {@code POST /v1/interventions/{name}/train}. Boxed fields: absent means the default (sites {@code resid},
 * promote false, the hyperparameters those of the method's
 * {@link io.steergate.engine.training.InterventionMethod#defaults()}); kind is required only for a new intervention.
 * {@code evaluation} names the held-out set and lexicons the evaluation gate measures the candidate with; absent, the
 * intervention's default ({@code steergate.retraining.gate.defaults.<name>.*}), or none (the candidate is then not
 * evaluated and {@code promote} is refused). {@code promote} promotes the candidate only when the gate passes it.
 * {@code heldOut} and {@code patience} (LinEAS): the share of each prompt set kept out of training to measure held-out
 * W1, and early stopping on it (EVALUATION.md's third measurement fits with 0.25 and 50). {@code pooling} (every
 * method): {@code mean} (default) or {@code last}, what each prompt gives the fit (its tokens' mean, or its last token's
 * activation, for prompt sets cut just before the model chooses). {@code tokenGates} (default false): after the fit,
 * DSAS token gates fitted on the same prompts, source against target, pooled as the fit was (what {@code steer gate}
 * does; the shipped no-dogs map is made so). {@code batchSize} (LinEAS: source prompts per step; closed-form methods:
 * prompts per forward while collecting): at least as many as the source prompts trains on every prompt at every step,
 * the full batch, which at one site costs no more than a minibatch (EVALUATION.md, session 23).
 */
public record TrainingRequest(String method, String source, String target, String sites, Integer steps,
        Double learningRate, Double l1, Double groupLasso, Long seed, String kind, String description,
        Boolean promote, EvaluationRequest evaluation, Double heldOut, Integer patience, String pooling,
        Boolean tokenGates, Integer batchSize) {
}
