package io.steergate.it;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Polls /q/health/live on a daemon thread for as long as it runs, keeping every answer that was not UP. */
final class LivenessWatch implements AutoCloseable {

    private static final Duration EVERY = Duration.ofMillis(250);

    private final AppHttp http;
    private final Thread poller;
    private final List<String> notUp = new ArrayList<>();
    private volatile boolean running = true;
    private volatile int polls;

    LivenessWatch(AppHttp http) {
        this.http = http;
        poller = new Thread(this::poll, "liveness-watch");
        poller.setDaemon(true);
        poller.start();
    }

    private void poll() {
        while (running) {
            String problem = check();
            polls++;
            if (problem != null) {
                synchronized (notUp) {
                    notUp.add(problem);
                }
            }
            try {
                Thread.sleep(EVERY.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Null when liveness answers 200 UP, else what it answered. */
    String check() {
        try {
            HttpResponse<String> response = http.get("/q/health/live", Duration.ofSeconds(10));
            if (response.statusCode() == 200 && response.body().contains("\"UP\"")) {
                return null;
            }
            return java.time.Instant.now() + ": " + response.statusCode() + " " + response.body().replaceAll("\\s+", " ");
        } catch (IOException e) {
            return java.time.Instant.now() + ": no answer (" + e + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    int polls() {
        return polls;
    }

    /** Every answer so far that was not 200 UP. */
    List<String> notUp() {
        synchronized (notUp) {
            return List.copyOf(notUp);
        }
    }

    @Override
    public void close() {
        running = false;
        poller.interrupt();
    }
}
