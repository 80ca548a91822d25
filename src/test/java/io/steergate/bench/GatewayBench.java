package io.steergate.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.it.AppProcess;
import io.steergate.testing.EmbeddedKafka;
import io.steergate.testing.EmbeddedPostgresServer;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * End-to-end benchmark through Kafka: the packaged application as its own process, a real broker and PostgreSQL.
 * Closed loop: C clients each send a request and wait for its result before the next. Reports requests/s and
 * p50/p99 latency (send to result received) at each concurrency, then resident memory of the application over a
 * long run of sequential generations. Not a test: run it as BENCHMARKS.md says.
 *
 * Arguments: {@code [requests-per-level=200] [memory-requests=2000] [max-tokens=32] [tenant=bench] [workers=0]
 * [scheduling=continuous]}; tenant {@code kids-co} is steered by the shipped kids-platform policy (kindness on every
 * request) once the demo interventions are imported, a few seconds after start. {@code workers} 0 runs every role in
 * one process; N &gt; 0 runs a gateway-only process and N worker-only processes of the model, which share its job
 * topic, and measures once they all hold partitions of it. {@code max-tokens} {@code mixed} asks 8, 32 and 128 tokens
 * by turns (where continuous batching matters: a short job no longer waits for a long one). {@code scheduling} is the
 * workers' steergate.worker.scheduling, continuous or run-to-completion; {@code both} starts the application
 * {@value #PAIRS} times in each mode, alternating, measures concurrency 16 only, and reports each mode's median and the
 * median per-pair ratio continuous / run-to-completion of p50 and p99 (pairs cancel the machine's drift).
 */
public final class GatewayBench {

    private static final String[] PROMPTS = {
        "Once upon a time", "One day, a little", "Once upon a time, there was a boy named Tim", "The sun was shining and",
        "Lily went to the park", "There was a big dog", "Once upon a time, a girl", "Tom had a red ball"
    };
    private static final ObjectMapper JSON = new ObjectMapper();
    /** max-tokens "mixed": each request asks the next of these. */
    private static final int[] MIXED_TOKENS = {8, 32, 128};
    private static final int PAIRS = 3;
    private static final String CONTINUOUS = "continuous";
    private static final String RUN_TO_COMPLETION = "run-to-completion";

    private final KafkaProducer<String, byte[]> producer;
    /** Per request in flight: completed with {result received (nanoTime), the result's generateMs}. */
    private final Map<String, CompletableFuture<long[]>> pending = new ConcurrentHashMap<>();
    private final Thread resultReader;
    private volatile boolean running = true;
    /** Tokens each request asks, by turns. */
    private final int[] maxTokens;
    private final String tenant;
    private final java.util.concurrent.atomic.AtomicInteger steered = new java.util.concurrent.atomic.AtomicInteger();

    private GatewayBench(String bootstrap, int[] maxTokens, String tenant) {
        this.maxTokens = maxTokens;
        this.tenant = tenant;
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> partitions = consumer.partitionsFor("steer.results").stream()
                .map(info -> new TopicPartition(info.topic(), info.partition())).toList();
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position);
        resultReader = new Thread(() -> {
            try (consumer) {
                while (running) {
                    for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                        CompletableFuture<long[]> done = pending.remove(record.key());
                        if (done != null) {
                            long received = System.nanoTime();
                            done.complete(new long[] {received, generateMs(record)});
                        }
                    }
                }
            }
        }, "bench-results");
        resultReader.setDaemon(true);
        resultReader.start();
    }

    public static void main(String[] args) throws Exception {
        int perLevel = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int memoryRequests = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        String tokensArg = args.length > 2 ? args[2] : "32";
        int[] maxTokens = tokensArg.equals("mixed") ? MIXED_TOKENS : new int[] {Integer.parseInt(tokensArg)};
        String tenant = args.length > 3 ? args[3] : "bench";
        int workers = args.length > 4 ? Integer.parseInt(args[4]) : 0;
        String scheduling = args.length > 5 ? args[5] : CONTINUOUS;
        if (!List.of(CONTINUOUS, RUN_TO_COMPLETION, "both").contains(scheduling)) {
            throw new IllegalArgumentException("scheduling: continuous, run-to-completion or both, got " + scheduling);
        }
        try (EmbeddedPostgresServer postgres = new EmbeddedPostgresServer().start();
             EmbeddedKafka kafka = new EmbeddedKafka(4).start()) {
            kafka.createTopics(4, "steer.requests", "steer.results", "steer.requests.dlq", TestModel.JOBS_TOPIC, "steer.jobs.dlq",
                    "steer.job-results", "steer.job-tokens", "steer.job-cancels");
            String tokens = tokensArg.equals("mixed") ? "8/32/128-token (mixed by request)" : tokensArg + "-token";
            if (!scheduling.equals("both")) {
                System.out.printf("# %s greedy generations through Kafka for tenant %s, scheduling %s%n", tokens, tenant, scheduling);
                measure(kafka, postgres, scheduling, workers, maxTokens, tenant, new int[] {1, 16}, perLevel, memoryRequests);
                return;
            }
            System.out.printf("# %s greedy generations through Kafka for tenant %s, concurrency 16, %d pairs of app starts%n",
                    tokens, tenant, PAIRS);
            double[][] before = new double[PAIRS][];
            double[][] after = new double[PAIRS][];
            for (int r = 0; r < PAIRS; r++) {
                before[r] = measure(kafka, postgres, RUN_TO_COMPLETION, workers, maxTokens, tenant, new int[] {16}, perLevel, 0)[0];
                after[r] = measure(kafka, postgres, CONTINUOUS, workers, maxTokens, tenant, new int[] {16}, perLevel, 0)[0];
            }
            System.out.println("| scheduling | median requests/s | median p50 ms | median p99 ms |");
            System.out.println("| --- | --- | --- | --- |");
            System.out.printf("| %s | %.1f | %.0f | %.0f |%n", RUN_TO_COMPLETION, PairedRuns.median(before, 0),
                    PairedRuns.median(before, 1), PairedRuns.median(before, 2));
            System.out.printf("| %s | %.1f | %.0f | %.0f |%n", CONTINUOUS, PairedRuns.median(after, 0),
                    PairedRuns.median(after, 1), PairedRuns.median(after, 2));
            System.out.printf("continuous / run-to-completion, median of %d pairs: requests/s x%.2f, p50 x%.2f, p99 x%.2f%n", PAIRS,
                    PairedRuns.pairRatio(after, before, 0), PairedRuns.pairRatio(after, before, 1),
                    PairedRuns.pairRatio(after, before, 2));
        }
    }

    /**
     * Starts the application with the workers' {@code scheduling}, measures each concurrency and the memory run, and
     * stops it; each concurrency's {requests/s, p50 ms, p99 ms}.
     */
    private static double[][] measure(EmbeddedKafka kafka, EmbeddedPostgresServer postgres, String scheduling, int workers,
            int[] maxTokens, String tenant, int[] concurrencies, int perLevel, int memoryRequests) throws Exception {
        Map<String, String> mode = Map.of("STEERGATE_WORKER_SCHEDULING", scheduling);
        List<AppProcess> workerApps = new ArrayList<>();
        Map<String, String> gatewayEnv = new java.util.HashMap<>(mode);
        if (workers > 0) {
            gatewayEnv.put("STEERGATE_ROLE_WORKER", "false");
        }
        try (AppProcess app = AppProcess.against(kafka, postgres, "gateway-bench", gatewayEnv).start()) {
            for (int i = 0; i < workers; i++) {
                Map<String, String> env = new java.util.HashMap<>(mode);
                env.put("STEERGATE_ROLE_GATEWAY", "false");
                env.put("STEERGATE_ROLE_TRAINER", "false");
                workerApps.add(AppProcess.against(kafka, postgres, "worker-bench-" + i, env).start());
            }
            if (workers > 0) {
                awaitWorkersAssigned(kafka, workers);
            }
            GatewayBench bench = new GatewayBench(kafka.bootstrapServers(), maxTokens, tenant);
            bench.run(32, 8); // warm-up: JIT, connections, first batches
            System.out.printf("# scheduling %s, app pid %d, %s%n", scheduling, app.pid(),
                    workers == 0 ? "all roles in one process" : "gateway-only process + " + workers + " worker-only process(es)");
            System.out.println("| concurrency | requests | requests/s | p50 ms | p99 ms | max ms | overhead p50 ms | overhead p99 ms |");
            System.out.println("| --- | --- | --- | --- | --- | --- | --- | --- |");
            double[][] rows = new double[concurrencies.length][];
            for (int c = 0; c < concurrencies.length; c++) {
                double[] appendBefore = auditAppend(app);
                Map<String, double[]> phasesBefore = loopPhases(app);
                rows[c] = bench.report(concurrencies[c], perLevel);
                double[] appendAfter = auditAppend(app);
                printLoopPhases(concurrencies[c], phasesBefore, loopPhases(app));
                double records = appendAfter[0] - appendBefore[0];
                System.out.printf("# concurrency %d: audit append (chain head wait included) mean %.2f ms over %.0f records, "
                        + "max of the last minute or so %.1f ms%n", concurrencies[c],
                        records == 0 ? 0 : (appendAfter[1] - appendBefore[1]) * 1000 / records, records, appendAfter[2] * 1000);
            }
            if (memoryRequests > 0) {
                long before = rssKb(app.pid());
                long start = System.nanoTime();
                bench.run(memoryRequests, 1);
                long after = rssKb(app.pid());
                System.out.printf("%nmemory: %d sequential generations in %.0f s; app RSS %d MB -> %d MB (%+d MB)%n",
                        memoryRequests, (System.nanoTime() - start) / 1e9, before / 1024, after / 1024, (after - before) / 1024);
            }
            System.out.printf("steered results (non-empty plan): %d%n", bench.steered.get());
            bench.close();
            return rows;
        } finally {
            workerApps.forEach(AppProcess::close);
        }
    }

    /** The application's steergate.audit.append timer: {count, total seconds, max seconds}. */
    private static double[] auditAppend(AppProcess app) throws Exception {
        java.net.http.HttpResponse<String> metrics = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create(app.managementUrl() + "/q/metrics"))
                        .timeout(Duration.ofSeconds(10)).GET().build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        double[] values = new double[3];
        for (String line : metrics.body().lines().toList()) {
            String[] parts = line.split(" ");
            if (line.startsWith("steergate_audit_append_seconds_count")) {
                values[0] = Double.parseDouble(parts[parts.length - 1]);
            } else if (line.startsWith("steergate_audit_append_seconds_sum")) {
                values[1] = Double.parseDouble(parts[parts.length - 1]);
            } else if (line.startsWith("steergate_audit_append_seconds_max")) {
                values[2] = Double.parseDouble(parts[parts.length - 1]);
            }
        }
        return values;
    }

    /** The continuous job loop's steergate.worker.loop timers: phase -> {count, total seconds}; empty for run-to-completion. */
    private static Map<String, double[]> loopPhases(AppProcess app) throws Exception {
        java.net.http.HttpResponse<String> metrics = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create(app.managementUrl() + "/q/metrics"))
                        .timeout(Duration.ofSeconds(10)).GET().build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        Map<String, double[]> phases = new java.util.TreeMap<>();
        java.util.regex.Pattern line = java.util.regex.Pattern.compile(
                "steergate_worker_loop_seconds_(count|sum)\\{.*phase=\"([a-z]+)\".*} (\\S+)");
        for (String text : metrics.body().lines().toList()) {
            java.util.regex.Matcher m = line.matcher(text);
            if (m.matches()) {
                phases.computeIfAbsent(m.group(2), k -> new double[2])[m.group(1).equals("count") ? 0 : 1] +=
                        Double.parseDouble(m.group(3));
            }
        }
        return phases;
    }

    /** Where the loop's thread spent the level's wall time, per phase: seconds, share, mean ms per pass. */
    private static void printLoopPhases(int concurrency, Map<String, double[]> before, Map<String, double[]> after) {
        if (after.isEmpty()) {
            return;
        }
        double total = 0;
        for (Map.Entry<String, double[]> phase : after.entrySet()) {
            total += phase.getValue()[1] - before.getOrDefault(phase.getKey(), new double[2])[1];
        }
        StringBuilder out = new StringBuilder("# concurrency " + concurrency + ": loop phases (s, share, mean ms):");
        for (Map.Entry<String, double[]> phase : after.entrySet()) {
            double[] was = before.getOrDefault(phase.getKey(), new double[2]);
            double count = phase.getValue()[0] - was[0];
            double seconds = phase.getValue()[1] - was[1];
            out.append(String.format(" %s %.2f %.0f%% %.2f;", phase.getKey(), seconds, total == 0 ? 0 : 100 * seconds / total,
                    count == 0 ? 0 : 1000 * seconds / count));
        }
        System.out.println(out);
    }

    /** Until {@code workers} members of the workers' group each hold partitions of the job topic. */
    private static void awaitWorkersAssigned(EmbeddedKafka kafka, int workers) throws Exception {
        try (Admin admin = Admin.create(kafka.adminSettings())) {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (System.nanoTime() < deadline) {
                ConsumerGroupDescription group = admin.describeConsumerGroups(List.of("steergate-workers")).all()
                        .get(30, TimeUnit.SECONDS).get("steergate-workers");
                long holding = group.members().stream().filter(m -> m.assignment().topicPartitions().stream()
                        .anyMatch(tp -> tp.topic().equals(TestModel.JOBS_TOPIC))).count();
                if (holding == workers && group.groupState() == GroupState.STABLE) {
                    return;
                }
                Thread.sleep(200);
            }
            throw new IllegalStateException("the " + workers + " workers never all held partitions of " + TestModel.JOBS_TOPIC);
        }
    }

    /**
     * One row: throughput, latency, and the gateway's overhead per request = latency minus the worker's generation
     * time of the batch the request rode in (validation, both transactions, the outbox, the topics, batching waits).
     */
    private double[] report(int concurrency, int requests) throws Exception {
        long start = System.nanoTime();
        long[][] measured = run(requests, concurrency);
        double seconds = (System.nanoTime() - start) / 1e9;
        long[] latencies = Arrays.stream(measured).mapToLong(m -> m[0]).sorted().toArray();
        long[] overheads = Arrays.stream(measured).mapToLong(m -> m[0] - m[1] * 1_000_000).sorted().toArray();
        System.out.printf("| %d | %d | %.1f | %.0f | %.0f | %.0f | %.0f | %.0f |%n", concurrency, requests, requests / seconds,
                p(latencies, 0.5), p(latencies, 0.99), latencies[latencies.length - 1] / 1e6, p(overheads, 0.5), p(overheads, 0.99));
        return new double[] {requests / seconds, p(latencies, 0.5), p(latencies, 0.99)};
    }

    private static double p(long[] sortedNanos, double q) {
        return sortedNanos[Math.max(0, (int) Math.ceil(sortedNanos.length * q) - 1)] / 1e6;
    }

    /** Sends {@code requests} with at most {@code concurrency} in flight; returns each {latency ns, generateMs}. */
    private long[][] run(int requests, int concurrency) throws Exception {
        Semaphore inFlight = new Semaphore(concurrency);
        List<CompletableFuture<long[]>> latencies = new ArrayList<>(requests);
        for (int i = 0; i < requests; i++) {
            inFlight.acquire();
            String id = "bench-" + UUID.randomUUID();
            String body = "{\"id\":\"" + id + "\",\"tenant\":\"" + tenant + "\",\"prompt\":\"" + PROMPTS[i % PROMPTS.length]
                    + "\",\"maxTokens\":" + maxTokens[i % maxTokens.length] + "}";
            CompletableFuture<long[]> done = new CompletableFuture<>();
            pending.put(id, done);
            long sent = System.nanoTime();
            producer.send(new ProducerRecord<>("steer.requests", id, body.getBytes(StandardCharsets.UTF_8)));
            latencies.add(done.whenComplete((t, e) -> inFlight.release()).thenApply(r -> new long[] {r[0] - sent, r[1]}));
        }
        long[][] out = new long[requests][];
        for (int i = 0; i < requests; i++) {
            out[i] = latencies.get(i).get(2, TimeUnit.MINUTES);
        }
        return out;
    }

    /** The result's generation time; a result that is not COMPLETED is reported, since the numbers would lie. */
    private long generateMs(ConsumerRecord<String, byte[]> record) {
        try {
            JsonNode result = JSON.readTree(record.value());
            if (!"COMPLETED".equals(result.path("status").asText())) {
                System.err.println("not completed: " + result);
            }
            if (result.path("applied").size() > 0) {
                steered.incrementAndGet();
            }
            return result.at("/timings/generateMs").asLong();
        } catch (IOException e) {
            System.err.println("unreadable result: " + e.getMessage());
            return 0;
        }
    }

    private static long rssKb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS for pid " + pid);
    }

    private void close() throws InterruptedException {
        running = false;
        resultReader.join(5_000);
        producer.close();
    }
}
