package io.steergate.worker;

import io.steergate.engine.model.Completion;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.messages.AppliedIntervention;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.GenerationResult;
import io.steergate.messages.Job;
import io.steergate.messages.JobResult;
import io.steergate.messages.ModelRef;
import java.util.ArrayList;
import java.util.List;

/**
 * Generates one batch of jobs together, each row with its own folded plan, and turns each row into a
 * {@link JobResult}. A prompt that cannot fit the model's context or a plan that cannot be met is rejected row by
 * row; a generation failure fails the batch's rows, never the worker.
 */
final class JobBatch {

    /** What generating a batch produced, with how many tokens it made (for tokens/s). */
    record Outcome(List<JobResult> results, int generatedTokens, long generateMs) {}

    private JobBatch() {}

    /** Resolves a job's plan into the folded maps to apply; throws when the plan cannot be met. */
    interface PlanResolver {
        SteeringPlan resolve(List<AppliedIntervention> plan) throws PlanMaps.Unavailable;
    }

    static Outcome run(List<Job> jobs, Generator generator, ModelRef model, int contextLength, PlanResolver plans, long nowMs) {
        JobResult[] results = new JobResult[jobs.size()];
        List<GenerationInput> inputs = new ArrayList<>();
        List<Integer> rows = new ArrayList<>();
        List<Integer> promptTokens = new ArrayList<>();
        for (int i = 0; i < jobs.size(); i++) {
            Job job = jobs.get(i);
            int tokens = generator.countPromptTokens(job.prompt());
            if (tokens >= contextLength) {
                results[i] = rejected(job, model, queueMs(job, nowMs), ErrorInfo.of(ErrorCode.PROMPT_TOO_LONG,
                        "prompt: " + tokens + " tokens leave no room in the model's context of " + contextLength + " tokens"));
                continue;
            }
            SteeringPlan steering;
            try {
                steering = plans.resolve(job.plan());
            } catch (PlanMaps.Unavailable e) {
                results[i] = rejected(job, model, queueMs(job, nowMs), e.error);
                continue;
            }
            inputs.add(new GenerationInput(job.prompt(), job.maxTokens(), (float) job.temperature(), (float) job.topP(),
                    job.seed(), steering.isEmpty() ? null : steering));
            rows.add(i);
            promptTokens.add(tokens);
        }
        int generated = 0;
        long start = System.nanoTime();
        if (!inputs.isEmpty()) {
            try {
                List<Completion> completions = generator.generate(inputs);
                long generateMs = (System.nanoTime() - start) / 1_000_000;
                for (int k = 0; k < completions.size(); k++) {
                    Completion completion = completions.get(k);
                    Job job = jobs.get(rows.get(k));
                    generated += completion.completionTokens();
                    results[rows.get(k)] = new JobResult(job.requestId(), GenerationResult.Status.COMPLETED, completion.text(),
                            model, new GenerationResult.Usage(completion.promptTokens(), completion.completionTokens()),
                            queueMs(job, nowMs), generateMs, null);
                }
            } catch (RuntimeException e) {
                long generateMs = (System.nanoTime() - start) / 1_000_000;
                for (int k = 0; k < rows.size(); k++) {
                    Job job = jobs.get(rows.get(k));
                    results[rows.get(k)] = new JobResult(job.requestId(), GenerationResult.Status.FAILED, null, model,
                            new GenerationResult.Usage(promptTokens.get(k), 0), queueMs(job, nowMs), generateMs,
                            ErrorInfo.of(ErrorCode.GENERATION_FAILED, "generation failed: " + e.getMessage()));
                }
            }
        }
        return new Outcome(List.of(results), generated, (System.nanoTime() - start) / 1_000_000);
    }

    private static JobResult rejected(Job job, ModelRef model, long queueMs, ErrorInfo error) {
        return new JobResult(job.requestId(), GenerationResult.Status.REJECTED, null, model,
                new GenerationResult.Usage(0, 0), queueMs, 0, error);
    }

    private static long queueMs(Job job, long nowMs) {
        return Math.max(0, nowMs - job.acceptedAtMs());
    }
}
