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
import io.steergate.resilience.Failures;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Generates one batch of jobs together, each row with its own folded plan, and turns each row into a
 * {@link JobResult}. A prompt that cannot fit the model's context or a plan that cannot be met is rejected row by
 * row; a job that cannot be prepared fails alone. When generating the batch throws, each row is generated again
 * alone, so a failing row fails only itself. A transient failure of plan resolution (the registry unreachable) is
 * thrown, for the caller to wait it out and run the batch again.
 */
final class JobBatch {

    private static final Logger LOG = Logger.getLogger(JobBatch.class);

    /**
     * What generating a batch produced, with how many tokens it made (for tokens/s), how many rows ran alone, and the
     * request ids of the jobs that cannot be generated for what they carry (only a forged or corrupted job: the
     * gateway validates every field), which are FAILED here and whose records the caller dead-letters.
     */
    record Outcome(List<JobResult> results, int generatedTokens, long generateMs, int retriedAlone, Set<String> unfit) {}

    private JobBatch() {}

    /** Resolves a job's plan into the folded maps to apply; throws when the plan cannot be met. */
    interface PlanResolver {
        SteeringPlan resolve(List<AppliedIntervention> plan) throws PlanMaps.Unavailable;
    }

    /** The model as a batch uses it: {@link Generator} in service, a stand-in in tests. */
    interface RowGenerator {
        int countPromptTokens(String prompt);

        /** A lower bound on countPromptTokens, from the length alone (cheap); 1 when the model gives none. */
        default int minPromptTokens(String prompt) {
            return 1;
        }

        List<Completion> generate(List<GenerationInput> rows);

        static RowGenerator of(Generator generator) {
            return new RowGenerator() {
                @Override
                public int countPromptTokens(String prompt) {
                    return generator.countPromptTokens(prompt);
                }

                @Override
                public int minPromptTokens(String prompt) {
                    return generator.minPromptTokens(prompt);
                }

                @Override
                public List<Completion> generate(List<GenerationInput> rows) {
                    return generator.generate(rows);
                }
            };
        }
    }

    /** A job ready to generate, at its index in the batch. */
    private record Row(int index, Job job, GenerationInput input, int promptTokens) {}

    static Outcome run(List<Job> jobs, RowGenerator generator, ModelRef model, int contextLength, PlanResolver plans, long nowMs) {
        JobResult[] results = new JobResult[jobs.size()];
        Set<String> unfit = new LinkedHashSet<>();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < jobs.size(); i++) {
            Job job = jobs.get(i);
            try {
                // a prompt that cannot fit is refused before the tokenizer spends time on it
                int atLeast = generator.minPromptTokens(job.prompt());
                if (atLeast >= contextLength) {
                    results[i] = rejected(job, model, nowMs, ErrorInfo.of(ErrorCode.PROMPT_TOO_LONG, "prompt: at least "
                            + atLeast + " tokens leave no room in the model's context of " + contextLength + " tokens"));
                    continue;
                }
                int tokens = generator.countPromptTokens(job.prompt());
                if (tokens >= contextLength) {
                    results[i] = rejected(job, model, nowMs, ErrorInfo.of(ErrorCode.PROMPT_TOO_LONG,
                            "prompt: " + tokens + " tokens leave no room in the model's context of " + contextLength + " tokens"));
                    continue;
                }
                SteeringPlan steering = plans.resolve(job.plan());
                rows.add(new Row(i, job, new GenerationInput(job.prompt(), job.maxTokens(), (float) job.temperature(),
                        (float) job.topP(), job.seed(), steering.isEmpty() ? null : steering), tokens));
            } catch (PlanMaps.Unavailable e) {
                results[i] = rejected(job, model, nowMs, e.error);
            } catch (RuntimeException e) {
                if (Failures.isTransient(e)) {
                    throw e;
                }
                // Only a forged or corrupted job gets here (the gateway validates every field): it fails alone.
                results[i] = failed(job, model, nowMs, 0, 0, "job cannot be generated: " + Failures.reason(e));
                unfit.add(job.requestId());
            }
        }
        long start = System.nanoTime();
        int generated = generate(rows, generator, model, nowMs, results, start);
        int retriedAlone = 0;
        if (generated < 0) {
            retriedAlone = rows.size();
            generated = 0;
            for (Row row : rows) {
                generated += Math.max(0, generate(List.of(row), generator, model, nowMs, results, start));
            }
        }
        return new Outcome(List.of(results), generated, (System.nanoTime() - start) / 1_000_000, retriedAlone, Set.copyOf(unfit));
    }

    /**
     * Generates the rows together and fills their results. Returns the tokens generated, or -1 when the generation
     * of several rows threw (nothing filled: each row is to be tried alone); a single row that throws is FAILED.
     */
    private static int generate(List<Row> rows, RowGenerator generator, ModelRef model, long nowMs, JobResult[] results, long start) {
        if (rows.isEmpty()) {
            return 0;
        }
        List<Completion> completions;
        try {
            completions = generator.generate(rows.stream().map(Row::input).toList());
        } catch (RuntimeException e) {
            if (rows.size() > 1) {
                LOG.warnf("generating a batch of %d jobs failed, generating each alone: %s", rows.size(), Failures.reason(e));
                return -1;
            }
            Row row = rows.get(0);
            LOG.warnf("job %s failed alone: %s", row.job().requestId(), Failures.reason(e));
            results[row.index()] = failed(row.job(), model, nowMs, row.promptTokens(), (System.nanoTime() - start) / 1_000_000,
                    "generation failed: " + Failures.reason(e));
            return 0;
        }
        long generateMs = (System.nanoTime() - start) / 1_000_000;
        int generated = 0;
        for (int k = 0; k < completions.size(); k++) {
            Completion completion = completions.get(k);
            Job job = rows.get(k).job();
            generated += completion.completionTokens();
            results[rows.get(k).index()] = new JobResult(job.requestId(), GenerationResult.Status.COMPLETED, completion.text(),
                    model, new GenerationResult.Usage(completion.promptTokens(), completion.completionTokens()),
                    queueMs(job, nowMs), generateMs, null);
        }
        return generated;
    }

    private static JobResult rejected(Job job, ModelRef model, long nowMs, ErrorInfo error) {
        return new JobResult(job.requestId(), GenerationResult.Status.REJECTED, null, model,
                new GenerationResult.Usage(0, 0), queueMs(job, nowMs), 0, error);
    }

    static JobResult failed(Job job, ModelRef model, long nowMs, int promptTokens, long generateMs, String reason) {
        return failed(job, model, nowMs, promptTokens, generateMs, ErrorInfo.of(ErrorCode.GENERATION_FAILED, reason));
    }

    static JobResult failed(Job job, ModelRef model, long nowMs, int promptTokens, long generateMs, ErrorInfo error) {
        return new JobResult(job.requestId(), GenerationResult.Status.FAILED, null, model,
                new GenerationResult.Usage(promptTokens, 0), queueMs(job, nowMs), generateMs, error);
    }

    private static long queueMs(Job job, long nowMs) {
        return Math.max(0, nowMs - job.acceptedAtMs());
    }
}
