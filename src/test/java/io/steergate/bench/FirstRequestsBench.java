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
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * What a freshly started worker's first requests cost, with and without its warm-up (steergate.worker.warm-up): for
 * each setting, {@code starts} fresh applications (every role, each on a fresh broker and PostgreSQL), the time from
 * launching the JVM to ready, then {@code requests} synchronous generations one at a time (POST /v1/generations,
 * temperature 1), each one's time queued and decoding (the result's queueMs and generateMs) and its latency. Prints, per setting and request
 * number, the median over the starts. Not a test: run it as BENCHMARKS.md "Session 18" says.
 *
 * <p>Arguments: {@code [starts=3] [requests=20] [max-tokens=32] [warm-ups=PT0S,PT3S] [env]}, env being extra
 * environment for the application as {@code NAME=value;NAME=value} (a setting to compare, e.g.
 * {@code MP_MESSAGING_INCOMING_JOB_RESULTS_POLL_TIMEOUT=1000}).
 */
public final class FirstRequestsBench {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TENANT = "bench";
    private static final String[] PROMPTS = {
        "Once upon a time", "One day, a little", "Once upon a time, there was a boy named Tim", "The sun was shining and",
    };
    private static final int[] REPORTED = {1, 2, 3, 5, 10, 20, 50, 100};

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
        System.out.printf("# %d starts per setting, %d requests of %d tokens one at a time; medians over the starts; env %s%n",
                starts, requests, maxTokens, env);
        System.out.println("| warm-up | start to ready ms | request | queue ms | decode ms | latency ms |");
        System.out.println("| --- | --- | --- | --- | --- | --- |");
        for (String warmUp : warmUps) {
            long[] ready = new long[starts];
            long[][] queue = new long[requests][starts];
            long[][] decode = new long[requests][starts];
            long[][] latency = new long[requests][starts];
            for (int s = 0; s < starts; s++) {
                try (EmbeddedPostgresServer postgres = new EmbeddedPostgresServer().start();
                     EmbeddedKafka kafka = new EmbeddedKafka(4).start()) {
                    kafka.createTopics(4, "steer.requests", "steer.results", "steer.requests.dlq", TestModel.JOBS_TOPIC,
                            "steer.jobs.dlq", "steer.job-results", "steer.job-tokens", "steer.job-cancels");
                    Map<String, String> appEnv = new LinkedHashMap<>(env);
                    appEnv.put("STEERGATE_WORKER_WARM_UP", warmUp);
                    AppProcess app = AppProcess.against(kafka, postgres, "first-requests", appEnv);
                    long launched = System.nanoTime();
                    try (AppProcess started = app.start()) {
                        ready[s] = (System.nanoTime() - launched) / 1_000_000;
                        String authorization = started.clientAuthorization(TENANT);
                        for (int r = 0; r < requests; r++) {
                            long sent = System.nanoTime();
                            JsonNode result = generate(http, started, authorization, PROMPTS[r % PROMPTS.length], maxTokens);
                            latency[r][s] = (System.nanoTime() - sent) / 1_000_000;
                            queue[r][s] = result.path("timings").path("queueMs").asLong();
                            decode[r][s] = result.path("timings").path("generateMs").asLong();
                        }
                    }
                }
            }
            for (int n : REPORTED) {
                if (n <= requests) {
                    System.out.printf("| %s | %d | %d | %d | %d | %d |%n", warmUp, median(ready), n, median(queue[n - 1]),
                            median(decode[n - 1]), median(latency[n - 1]));
                }
            }
        }
    }

    private static JsonNode generate(HttpClient http, AppProcess app, String authorization, String prompt, int maxTokens)
            throws Exception {
        String id = "first-" + UUID.randomUUID();
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
        return result;
    }

    private static long median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
