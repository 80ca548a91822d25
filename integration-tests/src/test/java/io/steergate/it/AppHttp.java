package io.steergate.it;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * The hostile suite's HTTP calls to the application, all built here: a header every call needs (authentication, once
 * there is some) is added in {@link #request} alone.
 */
final class AppHttp {

    private final AppProcess app;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    AppHttp(AppProcess app) {
        this.app = app;
    }

    private HttpRequest.Builder request(String path, Duration timeout) {
        return HttpRequest.newBuilder(URI.create(app.baseUrl() + path)).timeout(timeout).header("Accept", "application/json");
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
