package io.steergate.launcher;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The application as a child process, kept running: restarted, with a growing pause, when it exits or when its
 * liveness check ({@code /q/health/live}) has not answered UP for the liveness timeout. Liveness, not readiness:
 * the application is meant to stay live and wait while PostgreSQL or Kafka is down, and a restart would not bring
 * them back. {@link #check()} is called by the launcher's supervision loop.
 */
final class SupervisedApp {

    private static final Duration PROBE_EVERY = Duration.ofSeconds(5);
    private static final Duration STOP_GRACE = Duration.ofSeconds(30);

    private final ProcessBuilder builder;
    private final URI live;
    private final URI ready;
    private final Duration readyTimeout;
    private final Duration livenessTimeout;
    private final Consumer<ProcessHandle> onStart;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private Process process;
    private boolean readySinceStart;
    private long startedNanos;
    private long lastUpNanos;
    private long downSinceNanos;
    private long nextStartNanos;
    private int failures;
    private CompletableFuture<HttpResponse<String>> probe;
    private long nextProbeNanos;
    private String lastAnswer = "no answer";

    /**
     * @param managementUrl the application's management interface, where its health checks answer
     * @param onStart told every new process (the run directory and the watchdog record its pid)
     */
    SupervisedApp(ProcessBuilder builder, String managementUrl, Duration readyTimeout, Duration livenessTimeout,
                  Consumer<ProcessHandle> onStart) {
        this.builder = builder;
        this.live = URI.create(managementUrl + "/q/health/live");
        this.ready = URI.create(managementUrl + "/q/health/ready");
        this.readyTimeout = readyTimeout;
        this.livenessTimeout = livenessTimeout;
        this.onStart = onStart;
    }

    synchronized void start() throws IOException {
        process = builder.start();
        onStart.accept(process.toHandle());
        startedNanos = System.nanoTime();
        lastUpNanos = startedNanos;
        readySinceStart = false;
        probe = null;
        nextProbeNanos = startedNanos;
        lastAnswer = "no answer";
    }

    /** The first start: waits for readiness; false (with the reason said) when it exited or timed out first. */
    boolean awaitFirstReady(BooleanSupplier stopping) {
        long deadline = System.nanoTime() + readyTimeout.toNanos();
        while (System.nanoTime() < deadline && !stopping.getAsBoolean()) {
            synchronized (this) {
                if (!process.isAlive()) {
                    EmbeddedStack.say("the application exited with code " + process.exitValue() + " before it was ready");
                    return false;
                }
                HttpResponse<String> answer = send(ready);
                if (answer != null && answer.statusCode() == 200) {
                    readySinceStart = true;
                    lastUpNanos = System.nanoTime();
                    return true;
                }
            }
            EmbeddedStack.sleep(500);
        }
        if (!stopping.getAsBoolean()) {
            EmbeddedStack.say("the application was not ready within " + readyTimeout.toSeconds() + " s (last answer: " + lastAnswer + ")");
        }
        return false;
    }

    private HttpResponse<String> send(URI uri) {
        try {
            HttpResponse<String> answer = http.send(request(uri), HttpResponse.BodyHandlers.ofString());
            lastAnswer = answer.statusCode() + " " + answer.body().strip();
            return answer;
        } catch (IOException e) {
            lastAnswer = e.toString();
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static HttpRequest request(URI uri) {
        return HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET().build();
    }

    /** Notices an exit or a long liveness failure, restarts when the pause is over, and says when it is back. */
    synchronized void check() {
        long now = System.nanoTime();
        if (process == null) {
            if (now >= nextStartNanos) {
                try {
                    start();
                } catch (IOException e) {
                    down("could not start the application (" + e.getMessage() + ")", now);
                }
            }
            return;
        }
        if (!process.isAlive()) {
            down("the application exited with code " + process.exitValue(), now);
            process = null;
            return;
        }
        readProbe(now);
        Duration allowed = readySinceStart ? livenessTimeout : readyTimeout;
        if (now - lastUpNanos > allowed.toNanos()) {
            String what = readySinceStart
                    ? "the application has not been live for " + livenessTimeout.toSeconds() + " s"
                    : "the application was not ready within " + readyTimeout.toSeconds() + " s";
            stopProcess();
            down(what + " (last answer: " + lastAnswer + ")", now);
            process = null;
        }
    }

    private void readProbe(long now) {
        if (probe != null && probe.isDone()) {
            HttpResponse<String> answer = null;
            try {
                answer = probe.join();
                lastAnswer = answer.statusCode() + " " + answer.body().strip();
            } catch (CompletionException | CancellationException e) {
                lastAnswer = String.valueOf(e.getCause());
            }
            probe = null;
            if (answer != null && answer.statusCode() == 200) {
                lastUpNanos = now;
                if (!readySinceStart) {
                    readySinceStart = true;
                    failures = 0;
                    EmbeddedStack.say(String.format("the application is back after %.1f s (pid %d)",
                            (now - downSinceNanos) / 1e9, process.pid()));
                }
            }
        }
        if (probe == null && now >= nextProbeNanos) {
            // readiness until the first UP after a start, then liveness
            probe = http.sendAsync(request(readySinceStart ? live : ready), HttpResponse.BodyHandlers.ofString());
            nextProbeNanos = now + (readySinceStart ? PROBE_EVERY : Duration.ofSeconds(1)).toNanos();
        }
    }

    private void down(String what, long now) {
        failures++;
        Duration pause = EmbeddedStack.restartPause(failures);
        EmbeddedStack.say(what + "; restarting it in " + pause.toSeconds() + " s");
        if (failures == 1) { // the first failure since the application was last ready
            downSinceNanos = now;
        }
        readySinceStart = false;
        nextStartNanos = now + pause.toNanos();
    }

    /** The running process; null between an exit and its restart. */
    synchronized ProcessHandle process() {
        return process == null ? null : process.toHandle();
    }

    /** SIGTERM (Quarkus shuts down cleanly), SIGKILL when it is still there after the grace. */
    synchronized void stop() {
        if (process != null) {
            stopProcess();
            process = null;
        }
    }

    private void stopProcess() {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(STOP_GRACE.toSeconds(), TimeUnit.SECONDS)) {
                EmbeddedStack.say("the application did not stop within " + STOP_GRACE.toSeconds() + " s; killing it");
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
