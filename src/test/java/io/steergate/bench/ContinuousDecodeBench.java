package io.steergate.bench;

import io.steergate.engine.model.Completion;
import io.steergate.engine.model.ContinuousBatch;
import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.GenerationInput;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaModel;
import io.steergate.testing.TestModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Continuous batching against run-to-completion groups on the same seeded workload: requests arrive at seeded
 * exponential intervals (wall clock), each asks 8, 32 or 128 tokens (sampled at temperature 0.9, its own seed), and the
 * engine takes them with the worker's defaults (32 rows, 16,384-token budget). Continuous: every arrival joins the
 * running batch between decode steps, rows leave when done. Run-to-completion: the requests waiting when a group starts
 * run together until the last of them is done (JobLoop's way). Both generate the same tokens per request, so the
 * tokens/s compare the schedules. Per-request latency = finish - arrival; bytes allocated per generated token by all
 * threads. Modes alternate over a few pairs after a warmup. A main, not a test: numbers depend on the machine.
 *
 * <p>Args: [requests=200] [arrivals per second=60] [pairs=3] [join every k steps=1].
 */
public final class ContinuousDecodeBench {

    private static final int ROWS = 32;
    private static final int TOKEN_BUDGET = 16_384;
    private static final int[] MAX_TOKENS = {8, 32, 128};
    private static final String[] PROMPTS = {"Once upon a time", "Tom and Sue went to the park", "", "The little dog",
        "Lily had a red ball and she liked to play with it every day in the garden"};

    private record Request(GenerationInput input, int[] tokens, long arrivalNanos) {
    }

    private record Run(int tokens, double tokensPerSecond, long[] latencyMs, int[] maxTokens) {
    }

    public static void main(String[] args) throws Exception {
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        double rate = args.length > 1 ? Double.parseDouble(args[1]) : 60;
        int pairs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int joinEvery = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        DeviceChoice choice = DeviceChoice.parse(System.getProperty("steergate.device", "auto"));
        try (LlamaModel model = LlamaModel.load(TestModel.dir(), choice)) {
            System.out.printf("model %s on %s: %d requests at %.0f/s, max tokens 8/32/128, %d rows, budget %d, %d pairs,"
                    + " joins every %d steps%n", model.name(), model.device(), requests, rate, ROWS, TOKEN_BUDGET, pairs,
                    joinEvery);
            List<Request> workload = workload(model, requests, rate);
            continuous(model, workload.subList(0, Math.min(40, requests)), joinEvery); // warmup
            runToCompletion(model, workload.subList(0, Math.min(40, requests)));
            for (int p = 0; p < pairs; p++) {
                long allocated = Allocated.bytes();
                Run continuous = continuous(model, workload, joinEvery);
                print("continuous       ", continuous, Allocated.bytes() - allocated);
                allocated = Allocated.bytes();
                Run groups = runToCompletion(model, workload);
                print("run-to-completion", groups, Allocated.bytes() - allocated);
            }
        }
    }

    private static List<Request> workload(LlamaModel model, int requests, double rate) {
        SplittableRandom random = new SplittableRandom(2026);
        List<Request> out = new ArrayList<>();
        double at = 0;
        for (int i = 0; i < requests; i++) {
            String prompt = PROMPTS[random.nextInt(PROMPTS.length)];
            GenerationInput input = new GenerationInput(prompt, MAX_TOKENS[random.nextInt(MAX_TOKENS.length)], 0.9f, 1f,
                    i);
            out.add(new Request(input, model.tokenizer().encode(prompt), (long) (at * 1e9)));
            at += -Math.log(1 - random.nextDouble()) / rate;
        }
        return out;
    }

    private static Run continuous(LlamaModel model, List<Request> workload, int joinEvery) {
        long[] finished = new long[workload.size()];
        int tokens = 0;
        long start = System.nanoTime();
        try (ContinuousBatch batch = new ContinuousBatch(model, TOKEN_BUDGET, ROWS).joinEvery(joinEvery)) {
            Map<ContinuousBatch.Ticket, Integer> rowOf = new HashMap<>();
            int next = 0;
            while (next < workload.size() || !batch.idle()) {
                long now = System.nanoTime() - start;
                while (next < workload.size() && workload.get(next).arrivalNanos() <= now) {
                    Request r = workload.get(next);
                    rowOf.put(batch.submit(List.of(new ContinuousBatch.RowRequest(r.input(), r.tokens(), null, null)),
                            false), next++);
                }
                if (batch.idle()) {
                    sleepUntil(start + workload.get(next).arrivalNanos());
                    continue;
                }
                for (ContinuousBatch.Finished done : batch.step()) {
                    finished[rowOf.get(done.ticket())] = System.nanoTime() - start;
                    tokens += done.completion().completionTokens();
                }
            }
        }
        return run(workload, finished, tokens);
    }

    private static Run runToCompletion(LlamaModel model, List<Request> workload) {
        Generator generator = new Generator(model);
        long[] finished = new long[workload.size()];
        int tokens = 0;
        long start = System.nanoTime();
        int next = 0;
        while (next < workload.size()) {
            if (workload.get(next).arrivalNanos() > System.nanoTime() - start) {
                sleepUntil(start + workload.get(next).arrivalNanos());
            }
            // the group: what has arrived, in order, within the rows and the budget (JobBatch.pack's cost)
            long now = System.nanoTime() - start;
            int first = next;
            int longest = 0;
            int most = 0;
            while (next < workload.size() && workload.get(next).arrivalNanos() <= now && next - first < ROWS) {
                Request r = workload.get(next);
                int l = Math.max(longest, r.tokens().length);
                int m = Math.max(most, r.input().maxTokens());
                if (next > first && (long) (next - first + 1) * (l + m) > TOKEN_BUDGET) {
                    break;
                }
                longest = l;
                most = m;
                next++;
            }
            List<Request> group = workload.subList(first, next);
            List<Completion> out = generator.generate(group.stream().map(Request::input).toList(),
                    group.stream().map(Request::tokens).toList());
            long done = System.nanoTime() - start;
            for (int i = 0; i < group.size(); i++) {
                finished[first + i] = done;
                tokens += out.get(i).completionTokens();
            }
        }
        return run(workload, finished, tokens);
    }

    private static Run run(List<Request> workload, long[] finished, int tokens) {
        long[] latency = new long[workload.size()];
        int[] maxTokens = new int[workload.size()];
        long last = 0;
        for (int i = 0; i < latency.length; i++) {
            latency[i] = (finished[i] - workload.get(i).arrivalNanos()) / 1_000_000;
            maxTokens[i] = workload.get(i).input().maxTokens();
            last = Math.max(last, finished[i]);
        }
        return new Run(tokens, tokens / (last / 1e9), latency, maxTokens);
    }

    private static void print(String mode, Run run, long allocatedBytes) {
        StringBuilder byClass = new StringBuilder();
        for (int max : MAX_TOKENS) {
            long[] of = new long[run.latencyMs().length];
            int n = 0;
            for (int i = 0; i < of.length; i++) {
                if (run.maxTokens()[i] == max) {
                    of[n++] = run.latencyMs()[i];
                }
            }
            long[] sorted = Arrays.copyOf(of, n);
            Arrays.sort(sorted);
            byClass.append(String.format("  max %3d: p50 %5d ms", max, percentile(sorted, 50)));
        }
        long[] sorted = run.latencyMs().clone();
        Arrays.sort(sorted);
        System.out.printf("%s: %7.0f tok/s, latency p50 %5d ms p99 %5d ms;%s; %,d bytes allocated per token%n", mode,
                run.tokensPerSecond(), percentile(sorted, 50), percentile(sorted, 99), byClass,
                allocatedBytes / run.tokens());
    }

    private static long percentile(long[] sorted, int p) {
        return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
    }

    private static void sleepUntil(long nanos) {
        long wait = nanos - System.nanoTime();
        if (wait > 0) {
            try {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }
}
