package io.steergate.bench;

import io.steergate.it.AppProcess;
import io.steergate.testing.EmbeddedKafka;
import io.steergate.testing.EmbeddedPostgresServer;
import io.steergate.testing.TestModel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Time to first token of {@code "stream": true} on POST /v1/completions: the packaged application as its own process
 * (every role), a real broker and PostgreSQL. Closed loop: C clients each send a streamed completion and read its
 * events to the end before the next. Reports, per concurrency, p50/p99 of the time from sending to the first data
 * event with non-empty text (TTFT) and to {@code data: [DONE]}, and how many text events a stream had. Not a test:
 * run it as docs/plans/continuous-batching-and-streaming.md section 4 says, with nothing else running.
 *
 * Arguments: {@code [requests=200] [max-tokens=32] [tenant=bench]}; tenant {@code kids-co} is steered by the shipped
 * kids-platform policy (a live stream); the tenant gets a client key at the application's first start.
 */
public final class StreamBench {

    private static final String[] PROMPTS = {
        "Once upon a time", "One day, a little", "Once upon a time, there was a boy named Tim", "The sun was shining and",
        "Lily went to the park", "There was a big dog", "Once upon a time, a girl", "Tom had a red ball"
    };

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final String url;
    private final String authorization;
    private final int maxTokens;

    private StreamBench(String baseUrl, String authorization, int maxTokens) {
        this.url = baseUrl + "/v1/completions";
        this.authorization = authorization;
        this.maxTokens = maxTokens;
    }

    public static void main(String[] args) throws Exception {
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int maxTokens = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        String tenant = args.length > 2 ? args[2] : "bench";
        try (EmbeddedPostgresServer postgres = new EmbeddedPostgresServer().start();
             EmbeddedKafka kafka = new EmbeddedKafka(4).start()) {
            kafka.createTopics(4, "steer.requests", "steer.results", "steer.requests.dlq", TestModel.JOBS_TOPIC, "steer.jobs.dlq",
                    "steer.job-results", "steer.job-tokens", "steer.job-cancels");
            try (AppProcess app = AppProcess.against(kafka, postgres, "stream-bench",
                    Map.of("STEERGATE_AUTH_BOOTSTRAP_TENANTS", tenant)).start()) {
                StreamBench bench = new StreamBench(app.baseUrl(), app.clientAuthorization(tenant), maxTokens);
                bench.run(32, 8); // warm-up: JIT, connections, the demo interventions' import
                System.out.printf("# streamed %d-token completions (temperature 1) for tenant %s, app pid %d%n", maxTokens, tenant,
                        app.pid());
                System.out.println("| concurrency | requests | TTFT p50 ms | TTFT p99 ms | [DONE] p50 ms | [DONE] p99 ms | text events p50 |");
                System.out.println("| --- | --- | --- | --- | --- | --- | --- |");
                for (int concurrency : new int[] {1, 16}) {
                    long[][] measured = bench.run(requests, concurrency);
                    long[] first = Arrays.stream(measured).mapToLong(m -> m[0]).sorted().toArray();
                    long[] done = Arrays.stream(measured).mapToLong(m -> m[1]).sorted().toArray();
                    long[] events = Arrays.stream(measured).mapToLong(m -> m[2]).sorted().toArray();
                    System.out.printf("| %d | %d | %.0f | %.0f | %.0f | %.0f | %d |%n", concurrency, requests, p(first, 0.5),
                            p(first, 0.99), p(done, 0.5), p(done, 0.99), events[events.length / 2]);
                }
            }
        }
    }

    private static double p(long[] sortedNanos, double q) {
        return sortedNanos[Math.max(0, (int) Math.ceil(sortedNanos.length * q) - 1)] / 1e6;
    }

    /** {@code requests} streams, {@code concurrency} at a time; each {ns to first text, ns to [DONE], text events}. */
    private long[][] run(int requests, int concurrency) throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(concurrency);
        try {
            List<Future<long[]>> streams = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                String prompt = PROMPTS[i % PROMPTS.length];
                streams.add(clients.submit(() -> stream(prompt)));
            }
            long[][] out = new long[requests][];
            for (int i = 0; i < requests; i++) {
                out[i] = streams.get(i).get(5, TimeUnit.MINUTES);
            }
            return out;
        } finally {
            clients.shutdownNow();
        }
    }

    private long[] stream(String prompt) throws Exception {
        String body = "{\"model\":\"stories260K\",\"prompt\":\"" + prompt + "\",\"max_tokens\":" + maxTokens
                + ",\"stream\":true}";
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(2))
                .header("Authorization", authorization).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        long sent = System.nanoTime();
        HttpResponse<Stream<String>> response = http.send(request, HttpResponse.BodyHandlers.ofLines());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("HTTP " + response.statusCode() + ": " + String.join("\n", response.body().toList()));
        }
        long first = -1;
        long texts = 0;
        for (Iterator<String> lines = response.body().iterator(); lines.hasNext(); ) {
            String line = lines.next();
            if (line.equals("data: [DONE]")) {
                return new long[] {first < 0 ? System.nanoTime() - sent : first, System.nanoTime() - sent, texts};
            }
            // a text chunk with text: the last chunk's "text":"" and the usage chunk do not count
            if (line.startsWith("data: ") && line.contains("\"text\":\"") && !line.contains("\"text\":\"\"")) {
                texts++;
                if (first < 0) {
                    first = System.nanoTime() - sent;
                }
            }
        }
        throw new IllegalStateException("the stream ended without [DONE]");
    }
}
