package io.steergate.worker;

import io.steergate.engine.eval.LinearProbe;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.SteeringPlan;
import io.steergate.messages.AppliedIntervention;
import io.steergate.messages.GenerationResult;
import io.steergate.messages.Job;
import io.steergate.messages.JobResult;
import io.steergate.messages.ModelRef;
import io.steergate.messages.ProbeRequest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The worker's batch path ({@link JobBatch#run}, package-private) for the benches of io.steergate.bench, which
 * measure it without a broker: what the job loop hands a batch to, on the served model.
 */
public final class WorkerBatchPath {

    /** What a batch produced: jobs completed, tokens in their usage, tokens of counterfactual rows, texts received. */
    public record Counts(int completed, int usageTokens, int counterfactualTokens, int counterfactualTexts) {}

    private final JobBatch.RowGenerator generator;
    private final ModelRef model;
    private final JobBatch.Limits limits;
    private final Function<List<AppliedIntervention>, SteeringPlan> plans;
    private final JobBatch.ProbeResolver probes;

    /** The worker's settings: the model's context and {@code steergate.worker.batch-token-budget}. */
    public WorkerBatchPath(Generator generator, ModelRef model, int contextLength, int tokenBudget,
            Function<List<AppliedIntervention>, SteeringPlan> plans) {
        this(generator, model, contextLength, tokenBudget, plans, null, null);
    }

    /** As above, every probe request answered with {@code probe} read at {@code site}. */
    public WorkerBatchPath(Generator generator, ModelRef model, int contextLength, int tokenBudget,
            Function<List<AppliedIntervention>, SteeringPlan> plans, HookSite site, LinearProbe probe) {
        this.generator = JobBatch.RowGenerator.of(generator);
        this.model = model;
        this.limits = new JobBatch.Limits(contextLength, tokenBudget);
        this.plans = plans;
        this.probes = probe == null ? JobBatch.ProbeResolver.NONE
                : request -> Optional.of(new TrainedProbes.Ready(request.name(), site, probe));
    }

    /** The probe {@link TrainedProbes} trains for {@code request} on {@code model} from {@code policiesDir}. */
    public static LinearProbe trainProbe(LlamaModel model, ProbeRequest request, Path policiesDir) throws IOException {
        return TrainedProbes.train(model, HookSite.parse(request.site()), request, policiesDir);
    }

    public Counts run(List<Job> jobs) {
        JobBatch.Outcome outcome = JobBatch.run(jobs, generator, model, limits, plans::apply, probes, System.currentTimeMillis());
        int completed = 0;
        int usage = 0;
        int counterfactualTexts = 0;
        for (JobResult result : outcome.results()) {
            if (result.status() == GenerationResult.Status.COMPLETED) {
                completed++;
                usage += result.usage().completionTokens();
                counterfactualTexts += result.counterfactualText() == null ? 0 : 1;
            }
        }
        return new Counts(completed, usage, outcome.counterfactualTokens(), counterfactualTexts);
    }
}
