package io.steergate.worker;

import io.steergate.engine.model.Completion;
import io.steergate.engine.model.ContinuousBatch;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaConfig;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.SteeringPlan;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Generation a worker runs on made-up rows before it joins its group, so that the JIT has compiled the decode path
 * when the first job comes. A fresh JVM runs stories260K's first 32-token generation in about 300 ms and its
 * 50th in 2 ms (BENCHMARKS.md, "Session 18"): without this, the first jobs after every start or scale-out pay that.
 *
 * <p>The rows cover what jobs run: batches of 1 to many rows joining a running batch, greedy and sampled, prompts of
 * several lengths, unsteered and steered (a composed plan at every site, a map with supports, a token-gated map),
 * pooling sites for probes, streaming text. Rounds repeat until the budget is spent or the worker stops; the text is
 * thrown away and nothing is sent anywhere.
 */
final class WarmUp {

    /** What a warm-up did: rounds and tokens generated, how long it took, and its first and last round's duration. */
    record Result(int rounds, long tokens, long millis, long firstRoundMillis, long lastRoundMillis) {
    }

    private static final String[] PROMPTS = {
        "Once upon a time there was a little girl who liked to play in the park with her dog",
        "The sun was hot and the cat sat under the big tree",
        "Tom had a red ball",
        "One day",
    };
    private static final int MAX_TOKENS = 48;

    private final JobBatch.RowGenerator generator;
    private final List<SteeringPlan> plans;
    private final Set<Integer> pooledSites;
    private final int maxRows;

    /**
     * @param generator tokenizes the prompts as for jobs, and generates the run-to-completion rounds
     * @param config the served model's shape, for the made-up maps' sites and widths
     * @param fingerprint the served model's fingerprint, which the made-up maps name
     * @param maxRows the most rows the worker runs together
     */
    WarmUp(JobBatch.RowGenerator generator, LlamaConfig config, String fingerprint, int maxRows) {
        if (maxRows < 1) {
            throw new IllegalArgumentException("rows must be at least 1, got " + maxRows);
        }
        this.generator = generator;
        this.maxRows = maxRows;
        Random random = new Random(1);
        this.plans = List.of(
                SteeringPlan.compose(List.of(
                        new SteeringPlan.Step(intervention("warm-up-a", config, fingerprint, random, false, false), 1.0),
                        new SteeringPlan.Step(intervention("warm-up-b", config, fingerprint, random, false, false), 0.5))),
                SteeringPlan.of(intervention("warm-up-supported", config, fingerprint, random, true, false), 1.0),
                SteeringPlan.of(intervention("warm-up-gated", config, fingerprint, random, false, true), 1.0));
        int last = config.nLayers() - 1;
        this.pooledSites = Set.of(new HookSite(last, HookPoint.RESID).index(), new HookSite(0, HookPoint.MLP_OUT).index());
    }

    /**
     * Rounds through a continuous batch until {@code budget} is spent or {@code stopped}, checked at every step (rows
     * still running then are abandoned); the batch is idle after.
     */
    Result continuous(ContinuousRows batch, Duration budget, BooleanSupplier stopped, LongSupplier nanoTime) {
        return rounds(budget, stopped, nanoTime, (round, over) -> {
            List<List<GenerationInput>> units = units(round);
            long tokens = 0;
            // the first half starts together; the rest join the running rows a few steps later, one prefill each
            int joinAt = units.size() / 2;
            for (int u = 0; u < joinAt; u++) {
                batch.submit(requests(units.get(u), u), false);
            }
            int steps = 0;
            int next = joinAt;
            while (!batch.idle() || next < units.size()) {
                if (next < units.size() && steps >= 2 * (next - joinAt + 1)) {
                    batch.submit(requests(units.get(next), next), false);
                    next++;
                }
                int finished = batch.step().size();
                tokens += finished + batch.running(); // each row in the step, finished or not, made one token
                steps++;
                if (over.getAsBoolean()) {
                    batch.abandon();
                    break;
                }
            }
            return tokens;
        });
    }

    /** Rounds of run-to-completion batches until {@code budget} is spent or {@code stopped}, checked after each batch. */
    Result batches(Duration budget, BooleanSupplier stopped, LongSupplier nanoTime) {
        return rounds(budget, stopped, nanoTime, (round, over) -> {
            long tokens = 0;
            for (List<GenerationInput> unit : units(round)) {
                List<int[]> prompts = unit.stream().map(input -> generator.encodePrompt(input.prompt())).toList();
                List<Set<Integer>> pooled = unit.stream().map(input -> pooledSites).toList();
                tokens += generator.generate(unit, prompts, pooled).stream().mapToLong(Completion::completionTokens).sum();
                if (over.getAsBoolean()) {
                    break;
                }
            }
            return tokens;
        });
    }

    /** One round: generates until done or {@code over}, and returns how many tokens. */
    private interface Round {
        long run(int round, BooleanSupplier over);
    }

    private static Result rounds(Duration budget, BooleanSupplier stopped, LongSupplier nanoTime, Round round) {
        long start = nanoTime.getAsLong();
        long end = start + budget.toNanos();
        int rounds = 0;
        long tokens = 0;
        long first = 0;
        long last = 0;
        long now = start;
        BooleanSupplier over = () -> stopped.getAsBoolean() || nanoTime.getAsLong() - end >= 0;
        while (!over.getAsBoolean()) {
            long roundStart = now;
            tokens += round.run(rounds, over);
            now = nanoTime.getAsLong();
            last = (now - roundStart) / 1_000_000;
            if (rounds == 0) {
                first = last;
            }
            rounds++;
        }
        return new Result(rounds, tokens, (now - start) / 1_000_000, first, last);
    }

    /**
     * A round's units: one row alone, then units of 2, 4, ... rows up to a batch of maxRows in all; rows alternate
     * greedy and sampled, unsteered and each plan, and the prompts' lengths.
     */
    List<List<GenerationInput>> units(int round) {
        List<List<GenerationInput>> units = new ArrayList<>();
        int rows = 0;
        int size = 1;
        while (rows < maxRows) {
            int n = Math.min(size, maxRows - rows);
            List<GenerationInput> unit = new ArrayList<>(n);
            for (int r = 0; r < n; r++) {
                int i = rows + r;
                GenerationInput input = new GenerationInput(PROMPTS[(i + round) % PROMPTS.length],
                        MAX_TOKENS / 2 + (i * 7 + round) % (MAX_TOKENS / 2), i % 2 == 0 ? 0f : 0.8f,
                        i % 4 == 1 ? 0.9f : 1f, 31L * round + i);
                int plan = (i + round) % (plans.size() + 1);
                unit.add(plan == plans.size() ? input : input.withSteering(plans.get(plan)));
            }
            units.add(unit);
            rows += n;
            size *= 2;
        }
        return units;
    }

    /** A unit's rows for the batch: every other unit pools sites and streams its text, as probed and streamed jobs do. */
    private List<ContinuousBatch.RowRequest> requests(List<GenerationInput> unit, int index) {
        boolean probedAndStreamed = index % 2 == 1;
        return unit.stream().map(input -> new ContinuousBatch.RowRequest(input, generator.encodePrompt(input.prompt()),
                probedAndStreamed ? pooledSites : Set.of(), probedAndStreamed ? (at, tokens, text) -> { } : null)).toList();
    }

    /** A made-up intervention at every site of the model: omega near 1, beta near 0; with supports or a gate if asked. */
    private static Intervention intervention(String name, LlamaConfig config, String fingerprint, Random random,
            boolean supported, boolean gated) {
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        for (int layer = 0; layer < config.nLayers(); layer++) {
            for (HookPoint point : HookPoint.values()) {
                int width = point.width(config);
                float[] omega = new float[width];
                float[] beta = new float[width];
                float[] lo = new float[width];
                float[] hi = new float[width];
                float[] gate = new float[width];
                for (int i = 0; i < width; i++) {
                    omega[i] = 1 + 0.01f * (float) random.nextGaussian();
                    beta[i] = 0.01f * (float) random.nextGaussian();
                    lo[i] = -1f;
                    hi[i] = 1f;
                    gate[i] = 0.1f * (float) random.nextGaussian();
                }
                AffineMap map = supported ? new AffineMap(omega, beta, lo, hi) : AffineMap.of(omega, beta);
                maps.put(new HookSite(layer, point), gated ? map.gated(gate, -1f) : map);
            }
        }
        String method = gated ? Intervention.LINEAS : Intervention.LINEAR_ACT;
        return new Intervention(name, method, fingerprint, "", Map.of(), maps);
    }
}
