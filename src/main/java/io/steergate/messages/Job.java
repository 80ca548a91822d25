package io.steergate.messages;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * Internal message on its model's job topic ({@code steer.jobs.<model>}, keyed by {@code requestId}, so one model's jobs
 * spread over the topic's partitions and its workers): everything a
 * worker needs to generate, with the seed fixed by the gateway so a redelivered job regenerates the same text.
 * {@code requestId} is the gateway's job key (its generation row, unique across tenants, since a client's request id
 * is unique only within its tenant); a worker echoes it in {@link JobResult#requestId()}. {@code counterfactual} asks
 * the worker to also generate the unsteered continuation (empty plan, same seed, same batch) for the audit record.
 * {@code probes} (absent in older jobs: none) are the policy's probe scorers, evaluated on the steered row while it
 * generates; their scores come back in {@link JobResult#probeScores()}. {@code stream} (absent in older jobs: false)
 * asks the worker to publish each generated piece of the steered row's text on {@code steer.job-tokens}
 * ({@link JobTokens}) while it generates; the {@link JobResult} stays the only authority for the outcome.
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
        boolean counterfactual,
        @JsonInclude(JsonInclude.Include.NON_EMPTY) List<ProbeRequest> probes,
        @JsonInclude(JsonInclude.Include.NON_DEFAULT) boolean stream) {

    public Job {
        probes = probes == null ? List.of() : List.copyOf(probes);
    }

    /** A job whose text is not streamed. */
    public Job(String requestId, String tenant, String model, String prompt, int maxTokens, double temperature,
            double topP, long seed, PolicyRef policy, List<AppliedIntervention> plan, long acceptedAtMs,
            boolean counterfactual, List<ProbeRequest> probes) {
        this(requestId, tenant, model, prompt, maxTokens, temperature, topP, seed, policy, plan, acceptedAtMs,
                counterfactual, probes, false);
    }

    /** A job that asks for no probe scores and is not streamed. */
    public Job(String requestId, String tenant, String model, String prompt, int maxTokens, double temperature,
            double topP, long seed, PolicyRef policy, List<AppliedIntervention> plan, long acceptedAtMs,
            boolean counterfactual) {
        this(requestId, tenant, model, prompt, maxTokens, temperature, topP, seed, policy, plan, acceptedAtMs,
                counterfactual, List.of(), false);
    }
}
