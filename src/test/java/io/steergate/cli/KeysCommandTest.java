package io.steergate.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code steer keys} against a stand-in for /v1/keys: what it sends, what it prints, how it fails. */
class KeysCommandTest {

    @TempDir
    Path dir;

    HttpServer server;
    final List<String> seen = new ArrayList<>();
    int status = 201;

    @BeforeEach
    void serve() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/v1/keys", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            seen.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " "
                    + exchange.getRequestHeaders().getFirst("Authorization") + " " + body);
            byte[] answer = (status / 100 == 2 ? "{\"id\":\"ab12\",\"key\":\"sgk_new\"}" : "{\"code\":\"FORBIDDEN\",\"message\":\"no\"}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        server.start();
        Files.writeString(dir.resolve("operator.key"), "sgk_operator\n");
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    int run(StringWriter out, StringWriter err, String... args) {
        var cli = SteerCli.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--url", "http://127.0.0.1:" + server.getAddress().getPort(), "--key-file", dir.resolve("operator.key").toString()));
        return cli.execute(all.toArray(String[]::new));
    }

    @Test
    void createSendsTheOperatorsKeyAndTheFieldsAndPrintsTheNewKey() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = run(out, err, "keys", "create", "--tenant", "acme", "--role", "reviewer", "--role", "auditor", "--expires-in", "P30D");
        assertEquals(0, code, err.toString());
        assertEquals(List.of("POST /v1/keys Bearer sgk_operator {\"tenants\":[\"acme\"],\"roles\":[\"reviewer\",\"auditor\"],\"expiresIn\":\"P30D\"}"), seen);
        assertTrue(out.toString().contains("sgk_new"), out.toString());
    }

    @Test
    void revokeDeletesByIdAndARefusalIsAnErrorNamingTheStatus() {
        status = 403;
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        assertEquals(1, run(out, err, "keys", "revoke", "ab12"));
        assertEquals("DELETE /v1/keys/ab12 Bearer sgk_operator ", seen.get(0));
        assertTrue(err.toString().contains("HTTP 403") && err.toString().contains("FORBIDDEN"), err.toString());
        assertEquals(2, run(out, err, "keys", "revoke", "../other"));
    }
}
