package io.steergate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code steer keys}: issue, list and revoke API keys of a running SteerGate as an operator, through its HTTP API
 * (POST/GET/DELETE /v1/keys), so keys have one home: the application. The operator's own key is read from a file.
 */
@Command(name = "keys", mixinStandardHelpOptions = true,
        description = "Issue, list and revoke API keys of a running SteerGate (operator).",
        subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class})
final class KeysCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw SteerCli.badArgument(spec, "missing subcommand: create, list or revoke");
    }

    /** Where the application is and which operator key to use. */
    static final class Server {
        @Option(names = "--url", defaultValue = "http://127.0.0.1:8080", paramLabel = "URL",
                description = "the application's HTTP address (default ${DEFAULT-VALUE})")
        URI url;

        @Option(names = "--key-file", defaultValue = "data/credentials/operator.key", paramLabel = "FILE",
                description = "a file holding an operator's API key (default ${DEFAULT-VALUE})")
        Path keyFile;

        private static final ObjectMapper JSON = new ObjectMapper();

        /** Sends the request and prints the answer's JSON; a refusal is an error naming the status and the reason. */
        int send(CommandSpec spec, String method, String path, JsonNode body) throws IOException, InterruptedException {
            SteerCli.existingFile(spec, "--key-file", keyFile);
            String key = Files.readString(keyFile).strip();
            HttpRequest.Builder request = HttpRequest.newBuilder(url.resolve(path)).timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + key).header("Accept", "application/json");
            if (body == null) {
                request.method(method, HttpRequest.BodyPublishers.noBody());
            } else {
                request.header("Content-Type", "application/json")
                        .method(method, HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
            }
            HttpResponse<String> answer;
            try {
                answer = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()
                        .send(request.build(), HttpResponse.BodyHandlers.ofString());
            } catch (ConnectException e) {
                throw new IOException("no SteerGate answers at " + url + " (is it running? --url)", e);
            }
            if (answer.statusCode() / 100 != 2) {
                throw new IOException(method + " " + path + ": HTTP " + answer.statusCode() + " " + answer.body());
            }
            spec.commandLine().getOut().println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(JSON.readTree(answer.body())));
            return 0;
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Issue a key; it is printed once (field key) and cannot be shown again.")
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Server server;

        @Option(names = "--tenant", required = true, paramLabel = "NAME", description = "a tenant of the key (repeatable), * for every tenant")
        List<String> tenants;

        @Option(names = "--role", required = true, paramLabel = "ROLE", description = "client, reviewer, auditor or operator (repeatable)")
        List<String> roles;

        @Option(names = "--description", paramLabel = "TEXT", description = "what the key is for")
        String description;

        @Option(names = "--expires-in", paramLabel = "DURATION",
                description = "ISO-8601 duration such as P30D, or never (default: the server's steergate.auth.key-lifetime)")
        String expiresIn;

        @Override
        public Integer call() throws Exception {
            ObjectNode body = Server.JSON.createObjectNode();
            body.putPOJO("tenants", tenants);
            body.putPOJO("roles", roles);
            if (description != null) {
                body.put("description", description);
            }
            if (expiresIn != null) {
                body.put("expiresIn", expiresIn);
            }
            return server.send(spec, "POST", "/v1/keys", Server.JSON.valueToTree(body));
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Every key issued, without the keys themselves.")
    static final class ListKeys implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Server server;

        @Override
        public Integer call() throws Exception {
            return server.send(spec, "GET", "/v1/keys", null);
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a key for good.")
    static final class Revoke implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Server server;

        @Parameters(paramLabel = "ID", description = "the key's id (steer keys list)")
        String id;

        @Override
        public Integer call() throws Exception {
            if (!id.matches("[0-9a-f]{1,32}")) {
                throw SteerCli.badArgument(spec, "ID must be a key id as listed (hex), got " + SteerCli.oneLine(id));
            }
            return server.send(spec, "DELETE", "/v1/keys/" + id, null);
        }
    }
}
