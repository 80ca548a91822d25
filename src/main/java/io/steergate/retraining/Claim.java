package io.steergate.retraining;

import java.util.List;
import java.util.UUID;

/**
 * A job a trainer has marked RUNNING, with the prompt texts it trains on. {@code attempt} tells this run from a later
 * restart of the same job: only the run whose attempt is still the job's may report progress or store a result.
 * {@code evaluation} and {@code heldOut} (its prompt set's texts) are what the evaluation gate measures the candidate
 * with; both null when the job is not evaluated.
 */
public record Claim(UUID id, int attempt, String intervention, String kind, String description, String method,
        String sites, Hyperparameters hyperparameters, boolean promote, List<String> source, List<String> target,
        EvaluationRequest evaluation, List<String> heldOut) {}
