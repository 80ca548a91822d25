package io.steergate.launcher;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import com.sun.net.httpserver.HttpServer;

/**
 * Stands in for the application in {@link SupervisedAppTest}: answers /q/health/ready with 200, and
 * /q/health/live with 200 or, given "not-live", 503.
 */
public final class HealthStub {

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        boolean live = !(args.length > 1 && args[1].equals("not-live"));
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 0);
        server.createContext("/q/health/ready", exchange -> answer(exchange, 200, "{\"status\":\"UP\"}"));
        server.createContext("/q/health/live", exchange -> answer(exchange, live ? 200 : 503,
                live ? "{\"status\":\"UP\"}" : "{\"status\":\"DOWN\"}"));
        server.start();
    }

    private static void answer(com.sun.net.httpserver.HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
