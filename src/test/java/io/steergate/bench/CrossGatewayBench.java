package io.steergate.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.it.AppProcess;
import io.steergate.testing.EmbeddedKafka;
import io.steergate.testing.EmbeddedPostgresServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.common.GroupState;

/**
 * What a synchronous HTTP caller waits when its outcome is stored by another gateway instance. Two gateway processes
 * (A: every role; B: gateway only) share the job results' consumer group, so about half of the results of requests
 * sent to A are completed by B. Without outcome notices A's waiter finds those at its next re-read of the row (every
 * 250 ms); with them ({@code steergate.gateway.outcome-notices}, PostgreSQL NOTIFY) at once. Each mode on fresh
 * processes, requests one at a time to A after a warm-up; latency from send to the 200.
 *
 * <p>Arguments: {@code [requests=200] [max-tokens=8] [warm-up=300]}. Not a test: run as BENCHMARKS.md says.
 */
public final class CrossGatewayBench {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String GROUP = "steergate-gateway";
    private static final String JOB_RESULTS = "steer.job-results";

    private CrossGatewayBench() {
    }

    public static void main(String[] args) throws Exception {
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int maxTokens = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int warmUp = args.length > 2 ? Integer.parseInt(args[2]) : 300;
        try (EmbeddedPostgresServer postgres = new EmbeddedPostgresServer().start();
             EmbeddedKafka kafka = new EmbeddedKafka(4).start()) {
            kafka.createTopics(4, "steer.requests", "steer.results", "steer.requests.dlq", "steer.jobs.stories260K", "steer.jobs.dlq",
                    JOB_RESULTS);
            System.out.printf("# %d requests of %d greedy tokens, one at a time, to gateway A; /proc/loadavg %s%n", requests, maxTokens,
                    loadAverage());
            System.out.println("| outcome notices | p50 ms | p90 ms | p99 ms | mean ms | answered by a notice (A's counter) |");
            System.out.println("| --- | --- | --- | --- | --- | --- |");
            for (boolean notices : new boolean[] {false, true}) {
                measure(kafka, postgres, notices, requests, maxTokens, warmUp);
            }
            System.out.printf("# /proc/loadavg after: %s%n", loadAverage());
        }
    }

    private static void measure(EmbeddedKafka kafka, EmbeddedPostgresServer postgres, boolean notices, int requests, int maxTokens,
            int warmUp) throws Exception {
        Map<String, String> mode = Map.of("STEERGATE_GATEWAY_OUTCOME_NOTICES", String.valueOf(notices));
        Map<String, String> gatewayOnly = new HashMap<>(mode);
        gatewayOnly.put("STEERGATE_ROLE_WORKER", "false");
        gatewayOnly.put("STEERGATE_ROLE_TRAINER", "false");
        try (AppProcess a = AppProcess.against(kafka, postgres, "cross-gateway-a", mode).start();
             AppProcess b = AppProcess.against(kafka, postgres, "cross-gateway-b", gatewayOnly).start()) {
            awaitBothGatewaysHoldJobResults(kafka);
            HttpClient http = HttpClient.newHttpClient();
            String key = clientKey(http, a);
            for (int i = 0; i < warmUp; i++) {
                generate(http, a, key, maxTokens);
            }
            double[] millis = new double[requests];
            for (int i = 0; i < requests; i++) {
                long start = System.nanoTime();
                generate(http, a, key, maxTokens);
                millis[i] = (System.nanoTime() - start) / 1e6;
            }
            Arrays.sort(millis);
            System.out.printf("| %s | %.1f | %.1f | %.1f | %.1f | %s |%n", notices ? "on" : "off", p(millis, 0.5), p(millis, 0.9),
                    p(millis, 0.99), Arrays.stream(millis).average().orElse(0), notices ? wokeByNotice(http, a) : "-");
        }
    }

    private static void generate(HttpClient http, AppProcess app, String key, int maxTokens) throws Exception {
        String id = "cross-" + UUID.randomUUID();
        String body = "{\"id\":\"" + id + "\",\"tenant\":\"bench\",\"prompt\":\"Once upon a time\",\"maxTokens\":" + maxTokens + "}";
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(app.baseUrl() + "/v1/generations"))
                .timeout(Duration.ofMinutes(2)).header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode result = JSON.readTree(response.body());
        if (response.statusCode() != 200 || !"COMPLETED".equals(result.path("status").asText())) {
            throw new IllegalStateException("request " + id + " answered " + response.statusCode() + ": " + response.body());
        }
    }

    private static String clientKey(HttpClient http, AppProcess app) throws Exception {
        HttpResponse<String> issued = http.send(HttpRequest.newBuilder(URI.create(app.baseUrl() + "/v1/keys"))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + app.operatorKey())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"tenants\":[\"bench\"],\"roles\":[\"client\"],\"description\":\"bench\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (issued.statusCode() != 201) {
            throw new IllegalStateException("could not issue a client key: " + issued.statusCode() + " " + issued.body());
        }
        return JSON.readTree(issued.body()).path("key").asText();
    }

    /** Until two members of the gateways' group each hold partitions of the job results. */
    private static void awaitBothGatewaysHoldJobResults(EmbeddedKafka kafka) throws Exception {
        try (Admin admin = Admin.create(kafka.adminSettings())) {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (System.nanoTime() < deadline) {
                ConsumerGroupDescription group = admin.describeConsumerGroups(List.of(GROUP)).all().get(30, TimeUnit.SECONDS).get(GROUP);
                long holding = group.members().stream().filter(m -> m.assignment().topicPartitions().stream()
                        .anyMatch(tp -> tp.topic().equals(JOB_RESULTS))).count();
                if (holding == 2 && group.groupState() == GroupState.STABLE) {
                    return;
                }
                Thread.sleep(200);
            }
            throw new IllegalStateException("the two gateways never both held partitions of " + JOB_RESULTS);
        }
    }

    private static String wokeByNotice(HttpClient http, AppProcess app) throws Exception {
        String metrics = http.send(HttpRequest.newBuilder(URI.create(app.managementUrl() + "/q/metrics")).timeout(Duration.ofSeconds(10))
                .GET().build(), HttpResponse.BodyHandlers.ofString()).body();
        List<String> lines = new ArrayList<>(metrics.lines().filter(line -> line.startsWith("steergate_gateway_outcome_notices_woke")).toList());
        return lines.isEmpty() ? "none" : lines.get(0).substring(lines.get(0).lastIndexOf(' ') + 1);
    }

    private static double p(double[] sorted, double q) {
        return sorted[Math.max(0, (int) Math.ceil(sorted.length * q) - 1)];
    }

    private static String loadAverage() throws java.io.IOException {
        return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
    }
}
