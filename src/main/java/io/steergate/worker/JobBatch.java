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
import io.steergate.messages.ProbeRequest;
import io.steergate.resilience.Failures;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.jboss.logging.Logger;

/**
 * Generates one batch of jobs, each row with its own folded plan, and turns each row into a {@link JobResult}. A
 * prompt that cannot fit the model's context or a plan that cannot be met is rejected row by row; a job that cannot
 * be prepared fails alone. Each prompt is tokenized once, and those tokens are what the model generates from.
 *
 * <p>The rows are generated in groups whose cost stays within the token budget ({@link #pack}); a row over the
 * budget by itself runs alone. When generating a group throws, each of its rows is generated again alone, so a
 * failing row fails only itself. A transient failure of plan resolution (the registry unreachable) is thrown, for
 * the caller to wait it out and run the batch again.
 *
 * <p>Counterfactuals: a steered job that asks for one ({@link Job#counterfactual()}) brings a second row, the same
 * prompt tokens, seed and sampling with no steering, and the generator samples each row from its own seeded stream
 * whatever shares its batch, so that row's text is what the job would have been unsteered. The pair is packed as one
 * unit, in the same group, so the batch size (jobs) never parts them; the token budget counts both rows, since both
 * take room in the KV cache. A pair over the budget by itself runs as two groups, one after the other, as any row
 * over it runs alone. A job whose plan folds to nothing is its own counterfactual and brings no row; a job rejected
 * or unfit before generation brings none. When the counterfactual row fails alone the job still completes, without
 * the counterfactual text: it is audit evidence, not the client's answer.
 *
 * <p>Probe scorers: the probes a job asks for ({@link Job#probes()}) are read off its steered row as it generates
 * (the site's activations mean-pooled over the generated positions, {@code GeneratedPooling}), one dot product and
 * sigmoid per probe once the row is done; the row's tokens are the same as without them. Counterfactual rows are not
 * scored. A probe that cannot be trained is left out of the scores (its trainer says why).
 */
final class JobBatch {

    private static final Logger LOG = Logger.getLogger(JobBatch.class);

    /**
     * What generating a batch produced, with how many tokens it made (for tokens/s; counterfactual rows included, and
     * counted apart too: no JobResult's usage has them), how many jobs ran alone after their group failed, and the
     * request ids of the jobs that cannot be generated for what they carry (only a forged or corrupted job: the
     * gateway validates every field), which are FAILED here and whose records the caller dead-letters.
     */
    record Outcome(List<JobResult> results, int generatedTokens, int counterfactualTokens, long generateMs, int retriedAlone,
            Set<String> unfit) {}

    /**
     * What one generation may take.
     *
     * @param contextLength the model's context in tokens: a prompt must leave room for one generated token
     * @param tokenBudget the most a group of rows generated together may cost, rows x (longest prompt + most tokens
     *     any of them may emit), at least 1
     */
    record Limits(int contextLength, int tokenBudget) {
        Limits {
            if (contextLength < 1 || tokenBudget < 1) {
                throw new IllegalArgumentException("context length and token budget must be at least 1, got "
                        + contextLength + " and " + tokenBudget);
            }
        }
    }

    private JobBatch() {}

    /** Resolves a job's plan into the folded maps to apply; throws when the plan cannot be met. */
    interface PlanResolver {
        SteeringPlan resolve(List<AppliedIntervention> plan) throws PlanMaps.Unavailable;
    }

    /** Finds the trained probe of a job's probe request; empty when it cannot be had. */
    interface ProbeResolver {
        ProbeResolver NONE = request -> Optional.empty();

        Optional<TrainedProbes.Ready> resolve(ProbeRequest request);
    }

    /** The model as a batch uses it: {@link Generator} in service, a stand-in in tests. */
    interface RowGenerator {
        /** The prompt's tokens, BOS included. */
        int[] encodePrompt(String prompt);

        /** A lower bound on the length of encodePrompt, from the prompt's length alone (cheap); 1 when the model gives none. */
        default int minPromptTokens(String prompt) {
            return 1;
        }

        /** Generates the rows from their prompts' tokens (from encodePrompt, one per row), without tokenizing again. */
        List<Completion> generate(List<GenerationInput> rows, List<int[]> promptTokens);

        /**
         * {@link #generate(List, List)} that also pools each row's activations at its sites ({@link Completion#pooled});
         * a stand-in that cannot pools nothing.
         */
        default List<Completion> generate(List<GenerationInput> rows, List<int[]> promptTokens,
                List<Set<Integer>> pooledSites) {
            return generate(rows, promptTokens);
        }

        static RowGenerator of(Generator generator) {
            return new RowGenerator() {
                @Override
                public int[] encodePrompt(String prompt) {
                    return generator.encodePrompt(prompt);
                }

                @Override
                public int minPromptTokens(String prompt) {
                    return generator.minPromptTokens(prompt);
                }

                @Override
                public List<Completion> generate(List<GenerationInput> rows, List<int[]> promptTokens) {
                    return generator.generate(rows, promptTokens);
                }

                @Override
                public List<Completion> generate(List<GenerationInput> rows, List<int[]> promptTokens,
                        List<Set<Integer>> pooledSites) {
                    return generator.generate(rows, promptTokens, pooledSites);
                }
            };
        }
    }

    /**
     * A row ready to generate: the job at {@code index} in the batch with its prompt's tokens, steered as its plan says,
     * with the probes to read off it, or its unsteered counterfactual (no probes).
     */
    record Row(int index, Job job, GenerationInput input, int[] promptTokens, boolean counterfactual,
            List<TrainedProbes.Ready> probes) {

        Set<Integer> pooledSites() {
            Set<Integer> sites = new TreeSet<>();
            probes.forEach(probe -> sites.add(probe.site().index()));
            return sites;
        }
    }

    /**
     * A job made ready: its unit of rows (its own, then its counterfactual's when it brings one), or its result when it
     * is refused before generation ({@code unfit}: it cannot be generated for what it carries, and is dead-lettered).
     * {@code ownCounterfactual}: it asks for a counterfactual but its plan folds to nothing, so its text is its own.
     */
    record Prepared(Job job, List<Row> rows, boolean ownCounterfactual, JobResult result, boolean unfit) {

        static Prepared refused(Job job, JobResult result, boolean unfit) {
            return new Prepared(job, List.of(), false, result, unfit);
        }

        /** The prompt's tokens, 0 for a job refused before generation. */
        int promptTokens() {
            return rows.isEmpty() ? 0 : rows.get(0).promptTokens().length;
        }
    }

    /** What the groups of a batch fill in, by the job's index in the batch. */
    private static final class Filled {
        final JobResult[] results;
        final Completion[] completions;
        final Completion[] counterfactuals;
        final long[] generateMs;
        int counterfactualTokens;

        Filled(int jobs) {
            results = new JobResult[jobs];
            completions = new Completion[jobs];
            counterfactuals = new Completion[jobs];
            generateMs = new long[jobs];
        }
    }

    static Outcome run(List<Job> jobs, RowGenerator generator, ModelRef model, Limits limits, PlanResolver plans, long nowMs) {
        return run(jobs, generator, model, limits, plans, ProbeResolver.NONE, nowMs);
    }

    static Outcome run(List<Job> jobs, RowGenerator generator, ModelRef model, Limits limits, PlanResolver plans,
            ProbeResolver probes, long nowMs) {
        int contextLength = limits.contextLength();
        Filled filled = new Filled(jobs.size());
        JobResult[] results = filled.results;
        Prepared[] prepared = new Prepared[jobs.size()];
        Set<String> unfit = new LinkedHashSet<>();
        List<List<Row>> units = new ArrayList<>();
        for (int i = 0; i < jobs.size(); i++) {
            prepared[i] = prepare(jobs.get(i), i, generator, model, contextLength, plans, probes, nowMs);
            results[i] = prepared[i].result();
            if (prepared[i].unfit()) {
                unfit.add(jobs.get(i).requestId());
            }
            if (!prepared[i].rows().isEmpty()) {
                units.add(prepared[i].rows());
            }
        }
        // the rows of a unit share their prompt and sampling, so the first row's bounds are the unit's
        int[] promptLengths = units.stream().mapToInt(unit -> unit.get(0).promptTokens().length).toArray();
        int[] toEmit = units.stream().mapToInt(unit -> Math.min(unit.get(0).input().maxTokens(),
                contextLength - unit.get(0).promptTokens().length)).toArray();
        int[] rowsOf = units.stream().mapToInt(List::size).toArray();
        long start = System.nanoTime();
        int generated = 0;
        int retriedAlone = 0;
        for (List<Integer> group : pack(promptLengths, toEmit, rowsOf, limits.tokenBudget())) {
            List<Row> together = group.stream().flatMap(u -> units.get(u).stream()).toList();
            int first = group.get(0);
            boolean pairOverBudget = group.size() == 1 && rowsOf[first] > 1
                    && (long) rowsOf[first] * (promptLengths[first] + toEmit[first]) > limits.tokenBudget();
            int tokens = pairOverBudget ? -1 : generate(together, generator, model, nowMs, filled, start);
            if (tokens < 0) {
                if (!pairOverBudget) {
                    retriedAlone += (int) together.stream().filter(row -> !row.counterfactual()).count();
                }
                tokens = 0;
                for (Row row : together) {
                    tokens += Math.max(0, generate(List.of(row), generator, model, nowMs, filled, start));
                }
            }
            generated += tokens;
        }
        for (int i = 0; i < results.length; i++) {
            if (results[i] == null) {
                results[i] = completed(prepared[i], filled.completions[i], filled.counterfactuals[i], model, nowMs,
                        filled.generateMs[i]);
            }
        }
        return new Outcome(List.of(results), generated, filled.counterfactualTokens, (System.nanoTime() - start) / 1_000_000,
                retriedAlone, Set.copyOf(unfit));
    }

    /**
     * Makes the job at {@code index} of a batch ready to generate: tokenizes its prompt once, resolves its plan and
     * probes, and adds its counterfactual row; or refuses it (a prompt that cannot fit, a plan that cannot be met: a
     * REJECTED result; a job that cannot be generated for what it carries: FAILED and unfit). A transient failure of
     * plan resolution is thrown.
     */
    static Prepared prepare(Job job, int index, RowGenerator generator, ModelRef model, int contextLength, PlanResolver plans,
            ProbeResolver probes, long nowMs) {
        try {
            // a prompt that cannot fit is refused before the tokenizer spends time on it
            int atLeast = generator.minPromptTokens(job.prompt());
            if (atLeast >= contextLength) {
                return Prepared.refused(job, rejected(job, model, nowMs, ErrorInfo.of(ErrorCode.PROMPT_TOO_LONG, "prompt: at least "
                        + atLeast + " tokens leave no room in the model's context of " + contextLength + " tokens")), false);
            }
            int[] tokens = generator.encodePrompt(job.prompt());
            if (tokens.length >= contextLength) {
                return Prepared.refused(job, rejected(job, model, nowMs, ErrorInfo.of(ErrorCode.PROMPT_TOO_LONG, "prompt: "
                        + tokens.length + " tokens leave no room in the model's context of " + contextLength + " tokens")), false);
            }
            if (job.probes().size() > ProbeRequest.MAX_PER_JOB) {
                throw new IllegalArgumentException("the job asks for " + job.probes().size() + " probes; at most "
                        + ProbeRequest.MAX_PER_JOB);
            }
            SteeringPlan steering = plans.resolve(job.plan());
            GenerationInput input = new GenerationInput(job.prompt(), job.maxTokens(), (float) job.temperature(),
                    nucleus(job.topP()), job.seed(), steering.isEmpty() ? null : steering);
            List<TrainedProbes.Ready> ready = job.probes().stream().map(probes::resolve)
                    .flatMap(Optional::stream).toList();
            Row steered = new Row(index, job, input, tokens, false, ready);
            if (job.counterfactual() && !steering.isEmpty()) {
                return new Prepared(job, List.of(steered, new Row(index, job, input.withSteering(null), tokens, true, List.of())),
                        false, null, false);
            }
            return new Prepared(job, List.of(steered), job.counterfactual(), null, false);
        } catch (PlanMaps.Unavailable e) {
            return Prepared.refused(job, rejected(job, model, nowMs, e.error), false);
        } catch (RuntimeException e) {
            if (Failures.isTransient(e)) {
                throw e;
            }
            // Only a forged or corrupted job gets here (the gateway validates every field): it fails alone.
            return Prepared.refused(job, failed(job, model, nowMs, 0, 0, "job cannot be generated: " + Failures.reason(e)), true);
        }
    }

    /**
     * A job's topP as the sampler's float. A positive topP under float's smallest value (the gateway accepts 1e-50)
     * would round to 0 and be refused as forged; any nucleus that small keeps just the most likely token, as
     * {@code Float.MIN_VALUE} does. Zero and negative values stay as they are, for the input's own check to refuse.
     */
    static float nucleus(double topP) {
        return topP > 0 ? Math.max((float) topP, Float.MIN_VALUE) : (float) topP;
    }

    /**
     * The COMPLETED result of a prepared job from its row's completion. Usage is the steered row's alone, what the
     * client's result shows; the counterfactual row's tokens travel apart (counterfactualTokens): the gateway charges
     * both to the tenant. {@code counterfactual}: its counterfactual row's completion, null when it has none or that
     * row failed (the job then completes without the counterfactual text).
     */
    static JobResult completed(Prepared job, Completion completion, Completion counterfactual, ModelRef model, long nowMs,
            long generateMs) {
        Row row = job.rows().get(0);
        JobResult result = new JobResult(job.job().requestId(), GenerationResult.Status.COMPLETED, completion.text(),
                model, new GenerationResult.Usage(completion.promptTokens(), completion.completionTokens()),
                queueMs(job.job(), nowMs), generateMs, null, null, null, probeScores(row, completion));
        if (!job.job().counterfactual()) {
            return result;
        }
        if (job.ownCounterfactual()) {
            return withCounterfactual(result, result.text(), 0);
        }
        return counterfactual == null ? withCounterfactual(result, null, 0)
                : withCounterfactual(result, counterfactual.text(), counterfactual.completionTokens());
    }

    /**
     * Groups units (a job's row, or a job's row and its counterfactual's) into generations whose cost stays within
     * {@code budget}. The cost of a group is what the generator allocates for it: every row is padded to the longest
     * prompt and runs as long as the row that may emit the most, so rows x (longest prompt + most tokens to emit); its
     * KV cache holds that many columns per row, less one. Units are taken longest prompt first, so rows of like length
     * share a group and pad little; a unit whose own cost is over the budget is a group alone. Within a group the
     * units keep the order they came in.
     *
     * @param promptTokens each unit's prompt length in tokens
     * @param emitTokens the most tokens each unit's rows may emit (maxTokens, capped by the context left)
     * @param rows each unit's rows, at least 1
     * @return the groups, as indices into the units; every unit in exactly one group
     */
    static List<List<Integer>> pack(int[] promptTokens, int[] emitTokens, int[] rows, int budget) {
        Integer[] order = new Integer[promptTokens.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> promptTokens[i]).reversed().thenComparingInt(i -> i));
        List<List<Integer>> groups = new ArrayList<>();
        List<Integer> group = new ArrayList<>();
        int groupRows = 0;
        int longestPrompt = 0;
        int mostEmitted = 0;
        for (int i : order) {
            int prompt = Math.max(longestPrompt, promptTokens[i]);
            int emit = Math.max(mostEmitted, emitTokens[i]);
            if (!group.isEmpty() && ((long) groupRows + rows[i]) * (prompt + (long) emit) > budget) {
                groups.add(group);
                group = new ArrayList<>();
                groupRows = 0;
                prompt = promptTokens[i];
                emit = emitTokens[i];
            }
            group.add(i);
            groupRows += rows[i];
            longestPrompt = prompt;
            mostEmitted = emit;
        }
        if (!group.isEmpty()) {
            groups.add(group);
        }
        groups.forEach(Collections::sort);
        return groups;
    }

    /**
     * Generates the rows together and fills their results (a counterfactual row: its text). Returns the tokens
     * generated, or -1 when the generation of several rows threw (nothing filled: each row is to be tried alone); a
     * single row that throws is FAILED, or, a counterfactual row, leaves its job without the counterfactual text.
     */
    private static int generate(List<Row> rows, RowGenerator generator, ModelRef model, long nowMs, Filled filled, long start) {
        if (rows.isEmpty()) {
            return 0;
        }
        List<Completion> completions;
        try {
            List<GenerationInput> inputs = rows.stream().map(Row::input).toList();
            List<int[]> tokens = rows.stream().map(Row::promptTokens).toList();
            completions = rows.stream().allMatch(row -> row.probes().isEmpty()) ? generator.generate(inputs, tokens)
                    : generator.generate(inputs, tokens, rows.stream().map(Row::pooledSites).toList());
        } catch (RuntimeException e) {
            if (rows.size() > 1) {
                LOG.warnf("generating a batch of %d rows failed, generating each alone: %s", rows.size(), Failures.reason(e));
                return -1;
            }
            Row row = rows.get(0);
            if (row.counterfactual()) {
                LOG.warnf("the counterfactual of job %s failed alone, the job completes without it: %s", row.job().requestId(),
                        Failures.reason(e));
                return 0;
            }
            LOG.warnf("job %s failed alone: %s", row.job().requestId(), Failures.reason(e));
            filled.results[row.index()] = failed(row.job(), model, nowMs, row.promptTokens().length,
                    (System.nanoTime() - start) / 1_000_000, "generation failed: " + Failures.reason(e));
            return 0;
        }
        long generateMs = (System.nanoTime() - start) / 1_000_000;
        int generated = 0;
        for (int k = 0; k < completions.size(); k++) {
            Completion completion = completions.get(k);
            Row row = rows.get(k);
            generated += completion.completionTokens();
            if (row.counterfactual()) {
                filled.counterfactuals[row.index()] = completion;
                filled.counterfactualTokens += completion.completionTokens();
            } else {
                filled.completions[row.index()] = completion;
                filled.generateMs[row.index()] = generateMs;
            }
        }
        return generated;
    }

    /**
     * The probability each of the row's probes gives its pooled activations, by scorer name; 0 for a row that generated
     * nothing (no text carries no concept); null when the job asked for no probes.
     */
    private static Map<String, Double> probeScores(Row row, Completion completion) {
        if (row.job().probes().isEmpty()) {
            return null;
        }
        Map<String, Double> scores = new LinkedHashMap<>();
        for (TrainedProbes.Ready probe : row.probes()) {
            float[] pooled = completion.pooled().get(probe.site().index());
            scores.put(probe.name(), pooled == null ? 0.0 : probe.probe().probability(pooled));
        }
        return scores;
    }

    private static JobResult withCounterfactual(JobResult result, String counterfactualText, int counterfactualTokens) {
        return new JobResult(result.requestId(), result.status(), result.text(), result.model(), result.usage(), result.queueMs(),
                result.generateMs(), result.error(), counterfactualText, counterfactualText == null ? 0 : counterfactualTokens,
                result.probeScores());
    }

    private static JobResult rejected(Job job, ModelRef model, long nowMs, ErrorInfo error) {
        return new JobResult(job.requestId(), GenerationResult.Status.REJECTED, null, model,
                new GenerationResult.Usage(0, 0), queueMs(job, nowMs), 0, error, null);
    }

    static JobResult failed(Job job, ModelRef model, long nowMs, int promptTokens, long generateMs, String reason) {
        return failed(job, model, nowMs, promptTokens, generateMs, ErrorInfo.of(ErrorCode.GENERATION_FAILED, reason));
    }

    static JobResult failed(Job job, ModelRef model, long nowMs, int promptTokens, long generateMs, ErrorInfo error) {
        return new JobResult(job.requestId(), GenerationResult.Status.FAILED, null, model,
                new GenerationResult.Usage(promptTokens, 0), queueMs(job, nowMs), generateMs, error, null);
    }

    /**
     * FAILED {@link ErrorCode#CANCELLED}: the client of a streamed job went away after {@code tokens} generated tokens
     * (0: before it started). Usage counts what was generated, and the text is that prefix, what the client was sent.
     */
    static JobResult cancelled(Job job, ModelRef model, long nowMs, int promptTokens, int tokens, String text, long generateMs) {
        return new JobResult(job.requestId(), GenerationResult.Status.FAILED, text, model,
                new GenerationResult.Usage(promptTokens, tokens), queueMs(job, nowMs), generateMs,
                ErrorInfo.of(ErrorCode.CANCELLED, "the client closed the stream after " + tokens + " tokens"), null);
    }

    private static long queueMs(Job job, long nowMs) {
        return Math.max(0, nowMs - job.acceptedAtMs());
    }
}
