package io.steergate.retraining;

/**
 * The body of {@code POST /v1/interventions/{name}/train}. Boxed fields: absent means the default (sites {@code resid},
 * promote false, the hyperparameters those of the method's
 * {@link io.steergate.engine.training.InterventionMethod#defaults()}); kind is required only for a new intervention.
 */
public record TrainingRequest(String method, String source, String target, String sites, Integer steps,
        Double learningRate, Double l1, Double groupLasso, Long seed, String kind, String description,
        Boolean promote) {}
