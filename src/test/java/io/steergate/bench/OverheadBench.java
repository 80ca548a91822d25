package io.steergate.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.it.AppProcess;
import io.steergate.testing.EmbeddedKafka;
import io.steergate.testing.EmbeddedPostgresServer;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Where the gateway's overhead goes: one request at a time through the packaged application (its own process, all
 * roles), a real broker and PostgreSQL, and the time of each stage of each request from what the path leaves behind
 * anyway, with no timing code in the application: the generation row's accepted_at and completed_at, the CreateTime
 * of the records on the job topic, steer.job-results and steer.results (set by their producers when they send), the
 * JobResult's queueMs and generateMs, and when this JVM's own consumer of each of those topics received the record (a
 * stand-in for when the worker's and the gateway's consumers did: the same broker, the same long-poll). Record
 * timestamps have 1 ms resolution, so each stage is +-1 ms; the stages add up to the latency. The application's own
 * steergate.gateway.stage timers (the outbox relay's steps) are printed from its metrics at the end.
 *
 * <p>Before measuring, {@code warm-up} requests of one token each go through with 16 in flight, so that the JIT has
 * compiled the Java paths (Kafka clients and broker, the application's consumers, Hibernate, Jackson) that a gateway
 * in service runs compiled: with the 32 requests of earlier versions every hop still ran in the interpreter, and a
 * cold produce costs 5-7 ms on this machine where a warm one costs under 1 ms (KafkaHopBench shows both).
 *
 * <p>Arguments: {@code [requests=200] [max-tokens=32] [tenant=bench] [warm-up=3000]}. Not a test: run it as
 * BENCHMARKS.md says for GatewayBench, with {@code -Dexec.mainClass=io.steergate.bench.OverheadBench}.
 */
public final class OverheadBench {

    private static final String[] PROMPTS = {
        "Once upon a time", "One day, a little", "Once upon a time, there was a boy named Tim", "The sun was shining and",
        "Lily went to the park", "There was a big dog", "Once upon a time, a girl", "Tom had a red ball"
    };
    private static final String RESULTS = "steer.results";
    private static final String JOB_RESULTS = "steer.job-results";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int WARM_UP_IN_FLIGHT = 16;
    /** Epoch microseconds from the monotonic clock: sub-millisecond steps, the same epoch as the other processes' clocks. */
    private static final long EPOCH_MICROS_AT_START = System.currentTimeMillis() * 1000;
    private static final long NANOS_AT_START = System.nanoTime();

    /** What one topic's record told this JVM: the producer's CreateTime (ms) and when it arrived here (epoch µs). */
    private record Seen(long createdMs, long receivedMicros, byte[] value) {}

    private final Map<String, Seen> seen = new ConcurrentHashMap<>();
    private final Map<String, CountDownLatch> answered = new ConcurrentHashMap<>();
    private final KafkaProducer<String, byte[]> producer;
    private final Thread reader;
    private volatile boolean running = true;

    private OverheadBench(String bootstrap) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> partitions = new ArrayList<>();
        for (String topic : List.of(RESULTS, JOB_RESULTS, TestModel.JOBS_TOPIC)) {
            consumer.partitionsFor(topic).forEach(info -> partitions.add(new TopicPartition(info.topic(), info.partition())));
        }
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position);
        reader = new Thread(() -> {
            try (consumer) {
                while (running) {
                    for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                        long received = nowMicros();
                        seen.putIfAbsent(record.topic() + "/" + record.key(), new Seen(record.timestamp(), received, record.value()));
                        if (record.topic().equals(RESULTS)) {
                            CountDownLatch done = answered.get(record.key());
                            if (done != null) {
                                done.countDown();
                            }
                        }
                    }
                }
            }
        }, "bench-topics");
        reader.setDaemon(true);
        reader.start();
    }

    static long nowMicros() {
        return EPOCH_MICROS_AT_START + (System.nanoTime() - NANOS_AT_START) / 1000;
    }

    public static void main(String[] args) throws Exception {
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int maxTokens = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        String tenant = args.length > 2 ? args[2] : "bench";
        int warmUp = args.length > 3 ? Integer.parseInt(args[3]) : 3000;
        try (EmbeddedPostgresServer postgres = new EmbeddedPostgresServer().start();
             EmbeddedKafka kafka = new EmbeddedKafka(4).start()) {
            kafka.createTopics(4, "steer.requests", RESULTS, "steer.requests.dlq", TestModel.JOBS_TOPIC, "steer.jobs.dlq", JOB_RESULTS);
            try (AppProcess app = AppProcess.against(kafka, postgres, "overhead-bench").start()) {
                OverheadBench bench = new OverheadBench(kafka.bootstrapServers());
                long warmStart = System.nanoTime();
                bench.warmUp(warmUp, tenant);
                bench.send(32, tenant, maxTokens); // the measured shape once, outside the numbers
                System.out.printf("# warm-up: %d one-token requests, 16 in flight, in %.0f s%n", warmUp,
                        (System.nanoTime() - warmStart) / 1e9);
                String loadBefore = loadAverage();
                Map<String, Long> sent = bench.send(requests, tenant, maxTokens);
                System.out.printf("# one request at a time, %d requests of %d greedy tokens, tenant %s, app pid %d;"
                        + " /proc/loadavg before: %s, after: %s%n", requests, maxTokens, tenant, app.pid(), loadBefore, loadAverage());
                bench.report(sent, postgres);
                System.out.println();
                databaseFloor(postgres);
                System.out.println();
                System.out.println("# the application's steergate.gateway.stage timers (whole run, warm-up included):");
                stageMetrics(app).forEach(System.out::println);
                bench.close();
            }
        }
    }

    /** Sends {@code requests} one-token requests in rounds of 16 at once, each round once the previous one is answered. */
    private void warmUp(int requests, String tenant) throws Exception {
        for (int sent = 0; sent < requests; sent += WARM_UP_IN_FLIGHT) {
            List<CountDownLatch> round = new ArrayList<>();
            for (int i = 0; i < Math.min(WARM_UP_IN_FLIGHT, requests - sent); i++) {
                String id = "warm-" + UUID.randomUUID();
                CountDownLatch done = new CountDownLatch(1);
                answered.put(id, done);
                round.add(done);
                producer.send(new ProducerRecord<>("steer.requests", id, body(id, tenant, sent + i, 1)));
            }
            for (CountDownLatch done : round) {
                if (!done.await(2, TimeUnit.MINUTES)) {
                    throw new IllegalStateException("a warm-up request had no result within 2 minutes");
                }
            }
        }
        answered.clear();
        seen.clear();
    }

    private static byte[] body(String id, String tenant, int index, int maxTokens) {
        return ("{\"id\":\"" + id + "\",\"tenant\":\"" + tenant + "\",\"prompt\":\"" + PROMPTS[index % PROMPTS.length]
                + "\",\"maxTokens\":" + maxTokens + "}").getBytes(StandardCharsets.UTF_8);
    }

    /** Sends {@code requests} one after another, each once the previous one's result is back; returns id -> send time (µs). */
    private Map<String, Long> send(int requests, String tenant, int maxTokens) throws Exception {
        Map<String, Long> sent = new LinkedHashMap<>();
        for (int i = 0; i < requests; i++) {
            String id = "overhead-" + UUID.randomUUID();
            CountDownLatch done = new CountDownLatch(1);
            answered.put(id, done);
            sent.put(id, nowMicros());
            producer.send(new ProducerRecord<>("steer.requests", id, body(id, tenant, i, maxTokens)));
            if (!done.await(2, TimeUnit.MINUTES)) {
                throw new IllegalStateException("no result for " + id + " within 2 minutes");
            }
            answered.remove(id);
        }
        return sent;
    }

    /** The stages of one request, in ms; each from one clock reading to the next along the path. */
    private record Stages(double accept, double acceptCommitAndRelay, double jobHop, double batchingWait, double decode,
            double resultPublish, double jobResultHop, double complete, double completeCommitAndRelay, double resultHop,
            double total, double overhead) {}

    private void report(Map<String, Long> sent, EmbeddedPostgresServer postgres) throws Exception {
        List<Stages> stages = new ArrayList<>();
        try (Connection db = DriverManager.getConnection(postgres.jdbcUrl(), postgres.username(), postgres.password());
             PreparedStatement row = db.prepareStatement("select id, attempt, accepted_at, completed_at from generations where request_id = ?")) {
            for (Map.Entry<String, Long> request : sent.entrySet()) {
                row.setString(1, request.getKey());
                try (ResultSet r = row.executeQuery()) {
                    if (!r.next()) {
                        throw new IllegalStateException("no generation row for " + request.getKey());
                    }
                    String jobKey = "g" + r.getLong("id") + (r.getInt("attempt") == 0 ? "" : "." + r.getInt("attempt"));
                    long acceptedMicros = micros(r.getTimestamp("accepted_at"));
                    long completedMicros = micros(r.getTimestamp("completed_at"));
                    stages.add(stages(request.getValue(), acceptedMicros, completedMicros, jobKey, request.getKey()));
                }
            }
        }
        System.out.println("| stage | what it holds | p50 ms | p99 ms | mean ms |");
        System.out.println("| --- | --- | --- | --- | --- |");
        row(stages, "accept", "request hop, gateway consumer, decode, id lookup, quota, policy (to accepted_at)", Stages::accept);
        row(stages, "accept commit + relay", "job row + outbox insert, commit, relay wake-up and read, send (to the job's CreateTime)",
                Stages::acceptCommitAndRelay);
        row(stages, "job topic hop", "CreateTime to a consumer of the job topic", Stages::jobHop);
        row(stages, "worker pick-up", "worker fetch, batching wait, attempts transaction, plan (to queueMs' end)", Stages::batchingWait);
        row(stages, "decode", "generateMs", Stages::decode);
        row(stages, "result publish", "end of decode to the JobResult's CreateTime", Stages::resultPublish);
        row(stages, "job-results hop", "CreateTime to a consumer of steer.job-results", Stages::jobResultHop);
        row(stages, "complete", "gateway consumer, row lock, scoring (to completed_at)", Stages::complete);
        row(stages, "complete commit + relay", "audit record, outbox insert, commit, relay (to the result's CreateTime)",
                Stages::completeCommitAndRelay);
        row(stages, "result hop", "CreateTime to this client", Stages::resultHop);
        row(stages, "total", "send to result received", Stages::total);
        row(stages, "overhead", "total minus decode", Stages::overhead);
    }

    private Stages stages(long sentMicros, long acceptedMicros, long completedMicros, String jobKey, String id) throws IOException {
        Seen job = required(TestModel.JOBS_TOPIC + "/" + jobKey);
        Seen jobResult = required(JOB_RESULTS + "/" + jobKey);
        Seen result = required(RESULTS + "/" + id);
        JsonNode outcome = JSON.readTree(jobResult.value());
        long queueMs = outcome.path("queueMs").asLong();
        long generateMs = outcome.path("generateMs").asLong();
        long jobAcceptedMs = JSON.readTree(job.value()).path("acceptedAtMs").asLong();
        long batchStartMicros = (jobAcceptedMs + queueMs) * 1000;
        long decodedMicros = batchStartMicros + generateMs * 1000;
        double total = (result.receivedMicros() - sentMicros) / 1000.0;
        return new Stages(ms(acceptedMicros - sentMicros), ms(job.createdMs() * 1000 - acceptedMicros),
                ms(job.receivedMicros() - job.createdMs() * 1000), ms(batchStartMicros - job.receivedMicros()), generateMs,
                ms(jobResult.createdMs() * 1000 - decodedMicros), ms(jobResult.receivedMicros() - jobResult.createdMs() * 1000),
                ms(completedMicros - jobResult.receivedMicros()), ms(result.createdMs() * 1000 - completedMicros),
                ms(result.receivedMicros() - result.createdMs() * 1000), total, total - generateMs);
    }

    /**
     * What one PostgreSQL statement and one commit cost on this machine now, from this JVM (the application's
     * connections pay the same): the unit the transactions' round trips are counted in.
     */
    private static void databaseFloor(EmbeddedPostgresServer postgres) throws Exception {
        double[] statement = new double[200];
        double[] commit = new double[200];
        try (Connection db = DriverManager.getConnection(postgres.jdbcUrl(), postgres.username(), postgres.password());
             var ddl = db.createStatement()) {
            ddl.execute("create table if not exists overhead_bench_floor (id bigint)");
            db.setAutoCommit(false);
            try (PreparedStatement select = db.prepareStatement("select 1");
                 PreparedStatement insert = db.prepareStatement("insert into overhead_bench_floor values (1)")) {
                for (int i = 0; i < statement.length; i++) {
                    long start = System.nanoTime();
                    select.executeQuery().close();
                    statement[i] = (System.nanoTime() - start) / 1e6;
                    insert.executeUpdate();
                    start = System.nanoTime();
                    db.commit();
                    commit[i] = (System.nanoTime() - start) / 1e6;
                }
            }
        }
        Arrays.sort(statement);
        Arrays.sort(commit);
        System.out.printf("# PostgreSQL from this JVM: one statement (select 1) p50 %.2f ms p99 %.2f ms; commit of a one-row insert"
                + " p50 %.2f ms p99 %.2f ms%n", p(statement, 0.5), p(statement, 0.99), p(commit, 0.5), p(commit, 0.99));
    }

    private Seen required(String key) {
        Seen record = seen.get(key);
        if (record == null) {
            throw new IllegalStateException("this client never saw " + key);
        }
        return record;
    }

    private static void row(List<Stages> stages, String name, String what, ToDoubleFunction<Stages> stage) {
        double[] values = stages.stream().mapToDouble(stage).sorted().toArray();
        System.out.printf("| %s | %s | %.1f | %.1f | %.1f |%n", name, what, p(values, 0.5), p(values, 0.99),
                Arrays.stream(values).average().orElse(0));
    }

    private static double p(double[] sorted, double q) {
        return sorted[Math.max(0, (int) Math.ceil(sorted.length * q) - 1)];
    }

    private static double ms(long micros) {
        return micros / 1000.0;
    }

    static long micros(java.sql.Timestamp timestamp) {
        return timestamp.getTime() / 1000 * 1_000_000 + timestamp.getNanos() / 1000;
    }

    static String loadAverage() throws IOException {
        return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
    }

    /** The steergate_gateway_stage lines of the application's Prometheus metrics. */
    private static List<String> stageMetrics(AppProcess app) throws Exception {
        HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(app.managementUrl() + "/q/metrics"))
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
        return metrics.body().lines().filter(line -> line.startsWith("steergate_gateway_stage")).toList();
    }

    private void close() throws InterruptedException {
        running = false;
        reader.join(5_000);
        producer.close();
    }
}
