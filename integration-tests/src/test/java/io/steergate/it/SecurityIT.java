package io.steergate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.steergate.testing.HttpEndpoints;
import io.steergate.testing.HttpEndpoints.Endpoint;
import io.steergate.testing.TopicClient;

/**
 * The packaged application as an outside client meets it, with only the keys its first start wrote (as on the
 * embedded default): every endpoint against every role and no credential, no read across tenants, and HTTP that
 * answers on loopback only, with health and metrics on the management interface.
 */
class SecurityIT {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static ItStack stack;
    private static AppProcess app;

    @BeforeAll
    static void startStack() {
        stack = ItStack.start();
        app = stack.app("security").start();
    }

    @AfterAll
    static void stopStack() {
        ItStack.close(stack, app);
    }

    @Test
    void everyEndpointAnswersEveryRoleAsTheMatrixSays() throws Exception {
        Map<String, String> keyOf = new LinkedHashMap<>();
        for (String role : HttpEndpoints.ROLES) {
            HttpResponse<String> issued = call("POST", "/v1/keys", app.operatorKey(), HttpEndpoints.JSON,
                    "{\"tenants\":[\"acme\"],\"roles\":[\"" + role + "\"],\"expiresIn\":\"PT1H\"}");
            assertEquals(201, issued.statusCode(), issued.body());
            keyOf.put(role, json(issued).path("key").asText());
        }
        keyOf.put("no credential", null);
        List<String> wrong = new ArrayList<>();
        for (Endpoint endpoint : HttpEndpoints.all()) {
            for (Map.Entry<String, String> caller : keyOf.entrySet()) {
                int expected = endpoint.expectedFor(caller.getValue() == null ? null : caller.getKey());
                HttpResponse<String> answer = call(endpoint.method(), endpoint.path(), caller.getValue(), endpoint.contentType(), endpoint.body());
                if (answer.statusCode() != expected) {
                    wrong.add(endpoint.method() + " " + endpoint.path() + " as " + caller.getKey() + ": expected " + expected
                            + ", got " + answer.statusCode() + " " + answer.body());
                }
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void aClientOfOneTenantCannotReadAnotherTenantsGeneration() throws Exception {
        String id = "security-it-" + UUID.randomUUID();
        String acme = app.clientKey("acme");
        String kids = app.clientKey("kids-co");
        HttpResponse<String> posted = call("POST", "/v1/generations", kids, HttpEndpoints.JSON,
                "{\"id\":\"" + id + "\",\"prompt\":\"\"}");
        assertEquals(400, posted.statusCode(), posted.body());
        assertEquals(200, call("GET", "/v1/generations/" + id, kids, null, null).statusCode());

        HttpResponse<String> other = call("GET", "/v1/generations/" + id, acme, null, null);
        HttpResponse<String> never = call("GET", "/v1/generations/" + id + "-x", acme, null, null);
        assertEquals(404, other.statusCode());
        assertEquals(never.body().replace(id + "-x", id), other.body(), "another tenant's id answers as one never sent");
        HttpResponse<String> claimed = call("POST", "/v1/generations", acme, HttpEndpoints.JSON,
                "{\"id\":\"" + id + "\",\"tenant\":\"kids-co\",\"prompt\":\"Once\"}");
        assertEquals(403, claimed.statusCode(), claimed.body());
        assertEquals("TENANT_MISMATCH", json(claimed).path("code").asText());
    }

    @Test
    void httpAnswersOnLoopbackOnlyAndHealthOnTheManagementInterfaceOnly() throws Exception {
        assertEquals(404, call("GET", "/q/health/ready", null, null, null).statusCode(), "no health on the API port");
        HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(URI.create(app.managementUrl() + "/q/health/ready")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, health.statusCode(), health.body());

        Optional<InetAddress> outside = nonLoopbackAddress();
        Assumptions.assumeTrue(outside.isPresent(), "this machine has no non-loopback address to try");
        for (int port : List.of(app.httpPort(), URI.create(app.managementUrl()).getPort())) {
            assertThrows(IOException.class, () -> {
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress(outside.get(), port), 2_000);
                }
            }, "port " + port + " must not answer on " + outside.get());
        }
    }

    private static Optional<InetAddress> nonLoopbackAddress() throws IOException {
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!nic.isUp() || nic.isLoopback()) {
                continue;
            }
            for (InetAddress address : Collections.list(nic.getInetAddresses())) {
                if (address instanceof Inet4Address && !address.isLoopbackAddress()) {
                    return Optional.of(address);
                }
            }
        }
        return Optional.empty();
    }

    private static HttpResponse<String> call(String method, String path, String key, String contentType, String body)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(app.baseUrl() + path)).timeout(Duration.ofSeconds(60));
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        request.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> response) throws IOException {
        return TopicClient.json().readTree(response.body());
    }
}
