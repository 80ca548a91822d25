package io.steergate.it;

import io.steergate.testing.TopicClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * The hostile suite's HTTP calls to the application, all built here: every /v1 call carries a client key for every
 * tenant (issued with the operator key the application wrote at start), so the hostile bodies' tenants are checked by
 * the decoder as over Kafka rather than refused as another tenant's; health goes to the management interface.
 */
final class AppHttp {

    private final AppProcess app;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final String authorization;

    AppHttp(AppProcess app) throws IOException, InterruptedException {
        this.app = app;
        HttpResponse<String> issued = client.send(HttpRequest.newBuilder(URI.create(app.baseUrl() + "/v1/keys"))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + app.operatorKey())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"tenants\":[\"*\"],\"roles\":[\"client\"],\"description\":\"hostile suite\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (issued.statusCode() != 201) {
            throw new IllegalStateException("could not issue the suite's client key: " + issued.statusCode() + " " + issued.body());
        }
        this.authorization = "Bearer " + TopicClient.json().readTree(issued.body()).path("key").asText();
    }

    private HttpRequest.Builder request(String path, Duration timeout) {
        String base = path.startsWith("/q/") ? app.managementUrl() : app.baseUrl();
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(timeout).header("Accept", "application/json");
        return path.startsWith("/v1/") ? request.header("Authorization", authorization) : request;
    }

    /** POSTs the bytes as they are (null: an empty body) with Content-Type application/json. */
    CompletableFuture<HttpResponse<String>> postAsync(String path, byte[] body, Duration timeout) {
        HttpRequest request = request(path, timeout).header("Content-Type", "application/json")
                .POST(body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        return client.sendAsync(request, HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, byte[] body, Duration timeout) throws IOException, InterruptedException {
        try {
            return postAsync(path, body, timeout).join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw e;
        }
    }

    HttpResponse<String> get(String path, Duration timeout) throws IOException, InterruptedException {
        return client.send(request(path, timeout).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
}
