package io.steergate.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.steergate.gateway.GenerationService;
import io.steergate.gateway.GenerationWaiters;
import io.steergate.gateway.JobCancelPublisher;
import io.steergate.gateway.JobTokenFeed;
import io.steergate.gateway.SynchronousGenerations;
import io.steergate.gateway.TokenStream;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.GenerationResult;
import io.steergate.resilience.Failures;
import io.vertx.core.http.HttpServerResponse;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * {@code "stream": true} on the OpenAI-compatible completions: Server-Sent Events, one chunk per piece of text the
 * worker published, then the last chunk (finish_reason, SteerGate's extension), the usage chunk when asked, and
 * {@code data: [DONE]}. A stream is <em>live</em> when its policy can neither withhold nor regenerate the output: the
 * events start at once and follow the worker. Otherwise it is <em>held</em>: it waits like the synchronous answer, so a
 * refusal is still a JSON error with its status, and a completed output is then sent as the pieces it was generated in.
 * The stored result is the authority: what the pieces missed is sent from its text, and an outcome other than
 * COMPLETED after the events began is an error event, without [DONE]. A client that goes away (a write fails) has its
 * job cancelled; the request still ends, audited, from the worker's result.
 */
@ApplicationScoped
class OpenAiStream {

    private static final Logger LOG = Logger.getLogger(OpenAiStream.class);
    static final String EVENT_STREAM = "text/event-stream";
    /** A comment line this often keeps proxies from closing a quiet stream and shows a gone client early. */
    private static final Duration PING = Duration.ofSeconds(1);
    /** How long the pieces may trail a result that is already stored before its text is sent as one chunk. */
    private static final Duration TRAILING_PIECES = Duration.ofMillis(500);

    @Inject
    SynchronousGenerations generations;

    @Inject
    GenerationWaiters waiters;

    @Inject
    JobTokenFeed feed;

    @Inject
    JobCancelPublisher cancels;

    @Inject
    OpenAiShapes shapes;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry metrics;

    /** The answer to a streamed request: events, or (refused, or held and not completed) the JSON error. */
    Response answer(byte[] requestBody, OpenAiRequests.Mapped mapped, boolean chat, HttpServerResponse connection)
            throws InterruptedException {
        SynchronousGenerations.Admission admission = generations.admit(requestBody, true);
        if (admission.refusal() != null) {
            return admission.refusal();
        }
        GenerationService.Acceptance acceptance = admission.acceptance();
        Optional<TokenStream> tokens = acceptance.jobKey() == null ? Optional.empty() : feed.attach(acceptance.jobKey());
        Request request = new Request(admission.tenant(), admission.id(), acceptance.jobKey(), mapped, chat);
        boolean handedOver = false;
        try {
            if (acceptance.live()) {
                handedOver = true;
                return events(connection, out -> live(request, tokens, out));
            }
            Optional<String> resultJson = Optional.ofNullable(acceptance.resultJson());
            if (resultJson.isEmpty()) {
                try (GenerationWaiters.Watch watch = waiters.watch(request.tenant, request.id)) {
                    resultJson = watch.poll(generations.httpWait());
                }
            }
            if (resultJson.isEmpty()) {
                return generations.timedOut(request.id);
            }
            GenerationResult result = shapes.read(resultJson.get());
            if (result.status() != GenerationResult.Status.COMPLETED) {
                return generations.answer(resultJson.get());
            }
            OpenAiShapes.Stored stored = shapes.stored(request.tenant, request.id, mapped);
            List<String> pieces = tokens.flatMap(stream -> stream.pieces(stored.attempt()))
                    .filter(generated -> String.join("", generated).equals(result.text())).orElse(List.of(result.text()));
            return events(connection, out -> held(request, result, stored, pieces, out));
        } finally {
            if (!handedOver) {
                tokens.ifPresent(feed::release);
            }
        }
    }

    /** What a stream needs to know of its request. */
    private record Request(String tenant, String id, String jobKey, OpenAiRequests.Mapped mapped, boolean chat) {}

    private interface Writer {
        void write(Events out) throws IOException, InterruptedException;
    }

    private Response events(HttpServerResponse connection, Writer writer) {
        StreamingOutput body = out -> {
            try {
                writer.write(new Events(out, connection));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        // Cache-Control is the API's no-store (application.properties), stricter than the no-cache streams need
        return Response.ok(body, EVENT_STREAM).header("X-Accel-Buffering", "no").build();
    }

    /** A held stream's events: its output was known before the first. */
    private void held(Request request, GenerationResult result, OpenAiShapes.Stored stored, List<String> pieces, Events out)
            throws IOException {
        Instant created = stored.acceptedAt();
        if (request.chat) {
            out.data(shapes.roleChunk(request.id, created));
        }
        for (String piece : pieces) {
            out.data(shapes.textChunk(request.id, created, piece, request.chat));
        }
        finish(request, result, stored, created, out);
    }

    /** A live stream's events: each piece as the feed receives it, until the outcome is stored. */
    private void live(Request request, Optional<TokenStream> tokens, Events out) throws IOException, InterruptedException {
        Instant created = Instant.now();
        StringBuilder streamed = new StringBuilder();
        int taken = 0;
        boolean finished = false;
        try (GenerationWaiters.Watch watch = waiters.watch(request.tenant, request.id)) {
            tokens.ifPresent(stream -> watch.onStored(stream::wake));
            if (request.chat) {
                out.data(shapes.roleChunk(request.id, created));
            }
            long deadline = System.nanoTime() + generations.httpWait().toNanos();
            while (true) {
                Optional<String> resultJson = watch.poll(Duration.ZERO);
                if (resultJson.isPresent()) {
                    finished = true;
                    GenerationResult result = shapes.read(resultJson.get());
                    taken += trailing(request, tokens, taken, result, streamed, created, out);
                    finishLive(request, result, streamed.toString(), created, out);
                    return;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    // no cancel: the request goes on and its result can be polled
                    finished = true;
                    Response timedOut = generations.timedOut(request.id);
                    out.error(timedOut.getStatus(), (ErrorInfo) timedOut.getEntity(), request.chat);
                    return;
                }
                Duration wait = Duration.ofNanos(Math.min(left, out.untilPing()));
                List<String> pieces = tokens.isPresent() ? tokens.get().await(0, taken, wait) : List.of();
                if (tokens.isEmpty() || tokens.get().gapped(0)) {
                    // no pieces to wait for (a gapped attempt's await returns at once): the outcome is what comes next
                    watch.poll(wait);
                }
                for (String piece : pieces) {
                    out.data(shapes.textChunk(request.id, created, piece, request.chat));
                    streamed.append(piece);
                }
                taken += pieces.size();
                out.pingIfQuiet();
            }
        } catch (RuntimeException failure) {
            // no cancel: the request goes on and its outcome can be polled
            finished = true;
            endBroken(request, failure, out);
        } catch (IOException gone) {
            if (!finished) {
                LOG.debugf("stream of %s closed by its client after %d pieces: cancelling", request.id, taken);
                cancels.cancel(request.jobKey, "the client closed the stream");
            }
            throw gone;
        } finally {
            tokens.ifPresent(feed::release);
        }
    }

    /**
     * The pieces still on their way when the outcome was stored (the result and the pieces travel on different topics):
     * waited for a short while, as long as they keep the streamed text a prefix of the stored one. How many were sent.
     */
    private int trailing(Request request, Optional<TokenStream> tokens, int taken, GenerationResult result,
            StringBuilder streamed, Instant created, Events out) throws IOException, InterruptedException {
        if (tokens.isEmpty() || taken == 0 || result.text() == null) {
            // no piece so far: a worker that does not stream (or a gateway that missed them all), nothing to wait for
            return 0;
        }
        int sent = 0;
        long deadline = System.nanoTime() + TRAILING_PIECES.toNanos();
        while (streamed.length() < result.text().length() && !tokens.get().gapped(0) && System.nanoTime() < deadline) {
            List<String> pieces = tokens.get().await(0, taken + sent, Duration.ofMillis(50));
            for (String piece : pieces) {
                if (!result.text().startsWith(piece, streamed.length())) {
                    return sent;
                }
                out.data(shapes.textChunk(request.id, created, piece, request.chat));
                streamed.append(piece);
                sent++;
            }
        }
        return sent;
    }

    private void finishLive(Request request, GenerationResult result, String streamed, Instant created, Events out)
            throws IOException {
        if (result.status() != GenerationResult.Status.COMPLETED) {
            Response error = generations.answer(json(result));
            out.error(error.getStatus(), (ErrorInfo) error.getEntity(), request.chat);
            return;
        }
        String text = result.text() == null ? "" : result.text();
        if (text.startsWith(streamed)) {
            if (text.length() > streamed.length()) {
                out.data(shapes.textChunk(request.id, created, text.substring(streamed.length()), request.chat));
            }
        } else {
            // the pieces said something the result does not (a policy replaced mid-stream): the client has the pieces
            metrics.counter("steergate.stream.mismatch").increment();
            LOG.warnf("stream of %s: the streamed text is not a prefix of the stored result", request.id);
        }
        finish(request, result, shapes.stored(request.tenant, request.id, request.mapped), created, out);
    }

    private void finish(Request request, GenerationResult result, OpenAiShapes.Stored stored, Instant created, Events out)
            throws IOException {
        out.data(shapes.lastChunk(result, stored, created, request.chat));
        if (request.mapped.includeUsage()) {
            out.data(shapes.usageChunk(result, created, request.chat));
        }
        out.done();
    }

    /**
     * After the headers there is no status left to answer a failure with: it becomes the stream's last event, in the
     * shape of the JSON error the status would have carried, and without [DONE].
     */
    private void endBroken(Request request, RuntimeException failure, Events out) throws IOException {
        if (Failures.isTransient(failure)) {
            LOG.warnf("stream of %s ended early: %s", request.id, Failures.rootMessage(failure));
            out.error(Response.Status.SERVICE_UNAVAILABLE.getStatusCode(), ErrorInfo.of(ErrorCode.UNAVAILABLE,
                    "a dependency is unreachable; the request goes on: GET /v1/generations/" + request.id + " later"), request.chat);
        } else {
            LOG.errorf(failure, "stream of %s failed", request.id);
            out.error(Response.Status.INTERNAL_SERVER_ERROR.getStatusCode(),
                    new ErrorInfo("INTERNAL", "internal error; see the gateway log"), request.chat);
        }
    }

    private String json(GenerationResult result) {
        try {
            return json.writeValueAsString(result);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a GenerationResult must serialise as JSON", e);
        }
    }

    /** The event stream of one response: each event flushed as written; a gone client fails the next write. */
    private final class Events {

        private final OutputStream out;
        private final HttpServerResponse connection;
        private long lastWrite = System.nanoTime();

        Events(OutputStream out, HttpServerResponse connection) {
            this.out = out;
            this.connection = connection;
        }

        void data(Object event) throws IOException {
            write("data: " + json.writeValueAsString(event) + "\n\n");
        }

        void error(int status, ErrorInfo error, boolean chat) throws IOException {
            data(OpenAiErrors.body(status, error, chat));
        }

        void done() throws IOException {
            write("data: [DONE]\n\n");
        }

        long untilPing() {
            return Math.max(1, lastWrite + PING.toNanos() - System.nanoTime());
        }

        void pingIfQuiet() throws IOException {
            if (System.nanoTime() - lastWrite >= PING.toNanos()) {
                write(": ping\n\n");
            }
        }

        private void write(String event) throws IOException {
            if (connection.closed()) {
                // a write to a closed connection may be accepted and dropped: asked first
                throw new IOException("the client closed the connection");
            }
            out.write(event.getBytes(StandardCharsets.UTF_8));
            out.flush();
            lastWrite = System.nanoTime();
        }
    }
}
