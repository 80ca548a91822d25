package io.steergate.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.it.AppProcess;
import io.steergate.testing.EmbeddedKafka;
import io.steergate.testing.EmbeddedPostgresServer;
import io.steergate.testing.TestModel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.function.ToLongFunction;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * What a freshly started application's first requests cost, and where: for each setting, {@code starts} fresh
 * applications (every role, each on a fresh broker and PostgreSQL), the time from launching the JVM to ready, then
 * {@code requests} synchronous generations one at a time (POST /v1/generations, temperature 1). Each request's
 * latency is split into stages from what the path leaves behind anyway (as {@link OverheadBench} does): the
 * generation row's accepted_at and completed_at, the CreateTime of its records on the job topic and on
 * steer.job-results (read back after the requests), and the result's queueMs and generateMs. Prints, per setting and
 * request number, the median over the starts of each stage (record timestamps have 1 ms resolution), and the
 * application's CPU use while idle after the requests. Not a test: run it as BENCHMARKS.md "Session 20" says.
 *
 * <p>Arguments: {@code [starts=3] [requests=20] [max-tokens=32] [warm-ups=PT0S,PT3S] [env]}, env being extra
 * environment for the application as {@code NAME=value;NAME=value} (a setting to compare, e.g.
 * {@code MP_MESSAGING_INCOMING_JOB_RESULTS_POLL_TIMEOUT=1000}).
 */
public final class FirstRequestsBench {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TENANT = "bench";
    private static final String JOB_RESULTS = "steer.job-results";
    private static final String[] PROMPTS = {
        "Once upon a time", "One day, a little", "Once upon a time, there was a boy named Tim", "The sun was shining and",
    };
    private static final int[] REPORTED = {1, 2, 3, 4, 5, 10, 20, 50, 100};
    private static final Duration IDLE = Duration.ofSeconds(20);

    /** One request as the client saw it: its id, when it was sent and when its answer arrived (epoch µs). */
    private record Sent(String id, long sentMicros, long answeredMicros) {}

    /** One request's stages in ms, each from one clock reading to the next along the path; they add up to latency. */
    private record Stages(long accept, long relay, long pickUp, long decode, long publish, long complete, long answer,
            long latency) {}

    public static void main(String[] args) throws Exception {
        int starts = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int requests = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int maxTokens = args.length > 2 ? Integer.parseInt(args[2]) : 32;
        String[] warmUps = (args.length > 3 ? args[3] : "PT0S,PT3S").split(",");
        Map<String, String> env = new LinkedHashMap<>(Map.of("STEERGATE_AUTH_BOOTSTRAP_TENANTS", TENANT));
        if (args.length > 4) {
            for (String setting : args[4].split(";")) {
                String[] nameAndValue = setting.split("=", 2);
                env.put(nameAndValue[0], nameAndValue[1]);
            }
        }
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        System.out.printf("# %d starts per setting, %d requests of %d tokens one at a time; medians over the starts; env %s;"
                + " /proc/loadavg %s%n", starts, requests, maxTokens, env, OverheadBench.loadAverage());
        System.out.println("# accept: client send to accepted_at (HTTP, authentication, decoding, id lookup, quota, policy);"
                + " relay: to the job record's CreateTime (commit, outbox relay, send); pick-up: to the batch's start (job"
                + " topic hop, worker fetch, batching wait, attempts transaction); publish: decode's end to the JobResult's"
                + " CreateTime; complete: to completed_at (job-results hop, gateway consumer, completion); answer: to the"
                + " client's receipt (commit, audit, waiter, HTTP response)");
        System.out.println("| warm-up | start to ready ms | request | accept | relay | pick-up | decode | publish | complete"
                + " | answer | latency ms |");
        System.out.println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        List<String> idle = new ArrayList<>();
        for (String warmUp : warmUps) {
            long[] ready = new long[starts];
            Stages[][] stages = new Stages[requests][starts];
            long[] idleCpu = new long[starts];
            for (int s = 0; s < starts; s++) {
                try (EmbeddedPostgresServer postgres = new EmbeddedPostgresServer().start();
                     EmbeddedKafka kafka = new EmbeddedKafka(4).start()) {
                    kafka.createTopics(4, "steer.requests", "steer.results", "steer.requests.dlq", TestModel.JOBS_TOPIC,
                            "steer.jobs.dlq", JOB_RESULTS, "steer.job-tokens", "steer.job-cancels");
                    Map<String, String> appEnv = new LinkedHashMap<>(env);
                    appEnv.put("STEERGATE_WORKER_WARM_UP", warmUp);
                    AppProcess app = AppProcess.against(kafka, postgres, "first-requests", appEnv);
                    long launched = System.nanoTime();
                    try (AppProcess started = app.start()) {
                        ready[s] = (System.nanoTime() - launched) / 1_000_000;
                        String authorization = started.clientAuthorization(TENANT);
                        List<Sent> sent = new ArrayList<>();
                        for (int r = 0; r < requests; r++) {
                            String id = "first-" + UUID.randomUUID();
                            long sentMicros = OverheadBench.nowMicros();
                            generate(http, started, authorization, id, PROMPTS[r % PROMPTS.length], maxTokens);
                            sent.add(new Sent(id, sentMicros, OverheadBench.nowMicros()));
                        }
                        List<Stages> measured = stages(sent, kafka, postgres);
                        for (int r = 0; r < requests; r++) {
                            stages[r][s] = measured.get(r);
                        }
                        idleCpu[s] = idleCpuMsPerSecond(started.pid());
                    }
                }
            }
            for (int n : REPORTED) {
                if (n <= requests) {
                    Stages[] of = stages[n - 1];
                    System.out.printf("| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d |%n", warmUp, median(ready), n,
                            median(of, Stages::accept), median(of, Stages::relay), median(of, Stages::pickUp),
                            median(of, Stages::decode), median(of, Stages::publish), median(of, Stages::complete),
                            median(of, Stages::answer), median(of, Stages::latency));
                }
            }
            idle.add(warmUp + ": " + median(idleCpu));
        }
        System.out.println("# the application's CPU while idle after the requests, ms per second over " + IDLE.toSeconds()
                + " s, median over the starts: " + idle);
    }

    /**
     * CPU time the process {@code pid} spends with nothing to do, in ms per second of wall time over {@link #IDLE}
     * (what idle consumers' polling and timers cost), after a few seconds for the last request's work to settle.
     */
    private static long idleCpuMsPerSecond(long pid) throws InterruptedException {
        Thread.sleep(5_000);
        ProcessHandle app = ProcessHandle.of(pid).orElseThrow();
        long before = app.info().totalCpuDuration().orElseThrow().toMillis();
        Thread.sleep(IDLE.toMillis());
        long after = app.info().totalCpuDuration().orElseThrow().toMillis();
        return (after - before) / IDLE.toSeconds();
    }

    private static void generate(HttpClient http, AppProcess app, String authorization, String id, String prompt,
            int maxTokens) throws Exception {
        String body = JSON.writeValueAsString(Map.of("id", id, "tenant", TENANT, "prompt", prompt, "maxTokens", maxTokens,
                "temperature", 1.0));
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(app.baseUrl() + "/v1/generations"))
                .timeout(Duration.ofMinutes(2)).header("Authorization", authorization)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode result = JSON.readTree(response.body());
        if (response.statusCode() != 200 || !"COMPLETED".equals(result.path("status").asText())) {
            throw new IllegalStateException("request " + id + " answered " + response.statusCode() + ": " + response.body());
        }
    }

    /** Each request's stages, from its generation row and its records on the job topic and steer.job-results. */
    private static List<Stages> stages(List<Sent> sent, EmbeddedKafka kafka, EmbeddedPostgresServer postgres)
            throws Exception {
        Map<String, ConsumerRecord<String, String>> records = records(kafka.bootstrapServers(), TestModel.JOBS_TOPIC,
                JOB_RESULTS);
        List<Stages> stages = new ArrayList<>();
        try (Connection db = DriverManager.getConnection(postgres.jdbcUrl(), postgres.username(), postgres.password());
             PreparedStatement row = db.prepareStatement(
                     "select id, attempt, accepted_at, completed_at from generations where request_id = ?")) {
            for (Sent request : sent) {
                row.setString(1, request.id());
                try (ResultSet r = row.executeQuery()) {
                    if (!r.next()) {
                        throw new IllegalStateException("no generation row for " + request.id());
                    }
                    String jobKey = "g" + r.getLong("id") + (r.getInt("attempt") == 0 ? "" : "." + r.getInt("attempt"));
                    ConsumerRecord<String, String> job = required(records, TestModel.JOBS_TOPIC, jobKey);
                    ConsumerRecord<String, String> jobResult = required(records, JOB_RESULTS, jobKey);
                    JsonNode outcome = JSON.readTree(jobResult.value());
                    long batchStart = (JSON.readTree(job.value()).path("acceptedAtMs").asLong()
                            + outcome.path("queueMs").asLong()) * 1000;
                    long decode = outcome.path("generateMs").asLong() * 1000;
                    long accepted = OverheadBench.micros(r.getTimestamp("accepted_at"));
                    long completed = OverheadBench.micros(r.getTimestamp("completed_at"));
                    stages.add(new Stages(ms(accepted - request.sentMicros()), ms(job.timestamp() * 1000 - accepted),
                            ms(batchStart - job.timestamp() * 1000), ms(decode),
                            ms(jobResult.timestamp() * 1000 - batchStart - decode),
                            ms(completed - jobResult.timestamp() * 1000), ms(request.answeredMicros() - completed),
                            ms(request.answeredMicros() - request.sentMicros())));
                }
            }
        }
        return stages;
    }

    /** Every record on {@code topics} so far, by topic and key (the first of each). */
    private static Map<String, ConsumerRecord<String, String>> records(String bootstrap, String... topics) {
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        Map<String, ConsumerRecord<String, String>> records = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : topics) {
                consumer.partitionsFor(topic).forEach(info -> partitions.add(new TopicPartition(info.topic(), info.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                    records.putIfAbsent(record.topic() + "/" + record.key(), record);
                }
            }
        }
        return records;
    }

    private static ConsumerRecord<String, String> required(Map<String, ConsumerRecord<String, String>> records,
            String topic, String key) {
        ConsumerRecord<String, String> record = records.get(topic + "/" + key);
        if (record == null) {
            throw new IllegalStateException("no record " + key + " on " + topic);
        }
        return record;
    }

    private static long ms(long micros) {
        return Math.round(micros / 1000.0);
    }

    private static long median(Stages[] values, ToLongFunction<Stages> stage) {
        return median(Arrays.stream(values).mapToLong(stage).toArray());
    }

    private static long median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
