package io.steergate.messages;

import java.util.List;

/**
 * Internal message on {@code steer.jobs} (keyed by model name, so one model's jobs share partitions): everything a
 * worker needs to generate, with the seed fixed by the gateway so a redelivered job regenerates the same text.
 * {@code requestId} is the gateway's job key (its generation row, unique across tenants, since a client's request id
 * is unique only within its tenant); a worker echoes it in {@link JobResult#requestId()}. {@code counterfactual} asks
 * the worker to also generate the unsteered continuation (empty plan, same seed, same batch) for the audit record.
 */
public record Job(
        String requestId,
        String tenant,
        String model,
        String prompt,
        int maxTokens,
        double temperature,
        double topP,
        long seed,
        PolicyRef policy,
        List<AppliedIntervention> plan,
        long acceptedAtMs,
        boolean counterfactual) {}
