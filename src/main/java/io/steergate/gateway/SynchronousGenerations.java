package io.steergate.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.GenerationResult;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import io.steergate.security.Caller;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.util.Optional;

/**
 * Accepting a GenerationRequest over HTTP and waiting for its outcome: the one path of every HTTP door
 * (POST /v1/generations, the OpenAI-compatible completions), so each has the same policy, quotas, audit and
 * idempotency. The answer is the native one: 200 with the GenerationResult JSON, or {code, message} with its status.
 */
@ApplicationScoped
public class SynchronousGenerations {

    /** HTTP 422 (Jakarta REST 3.1's Response.Status has no constant for it). */
    private static final int UNPROCESSABLE_CONTENT = 422;

    @Inject
    GenerationService generations;

    @Inject
    GenerationWaiters waiters;

    @Inject
    RequestDecoders decoders;

    @Inject
    GatewayConfig config;

    @Inject
    DecisionGate gate;

    @Inject
    ObjectMapper json;

    @Inject
    Caller caller;

    /**
     * A request admitted (stored, or found stored under its id) or refused before it was stored. {@code refusal}, when
     * set, is the whole answer (unreadable, unavailable, over quota); else {@code acceptance} says what became of it.
     */
    public record Admission(Response refusal, String tenant, String id, GenerationService.Acceptance acceptance) {}

    /** The body of a request in the GenerationRequest shape, for the caller's credential. */
    public Response generate(byte[] body) throws InterruptedException {
        Admission admission = admit(body, false);
        if (admission.refusal() != null) {
            return admission.refusal();
        }
        String resultJson = admission.acceptance().resultJson();
        Optional<String> outcome = resultJson != null ? Optional.of(resultJson)
                : waiters.await(admission.tenant(), admission.id(), config.httpWait());
        return outcome.isPresent() ? answer(outcome.get()) : timedOut(admission.id());
    }

    /** Decodes and admits a request for the caller's credential; {@code stream}: its client reads the text as generated. */
    public Admission admit(byte[] body, boolean stream) throws InterruptedException {
        DecodedRequest decoded = decoders.decoder().decode(body, caller.onlyTenant().orElse(null));
        if (decoded instanceof DecodedRequest.Unreadable unreadable) {
            return refused(error(statusFor(unreadable.error()), unreadable.error()));
        }
        if (decoded.tenant() == null) {
            // without a tenant there is nowhere to store it: refused, not stored, nothing to poll
            ErrorInfo invalid = ((DecodedRequest.Invalid) decoded).error();
            return refused(error(statusFor(invalid), invalid));
        }
        caller.requireTenant(decoded.tenant());
        String id = decoded.id();
        String tenant = decoded.tenant();
        if (waiters.full(tenant)) {
            return refused(Response.status(Response.Status.TOO_MANY_REQUESTS).header("Retry-After", "1")
                    .entity(ErrorInfo.of(ErrorCode.QUOTA_EXCEEDED, "tenant " + tenant + " has " + config.maxWaitingPerTenant()
                            + " requests waiting for outcomes here (steergate.gateway.max-waiting-per-tenant); nothing"
                            + " stored: send it again when one has been answered, or send it on Kafka"))
                    .type(MediaType.APPLICATION_JSON).build());
        }
        if (!gate.await(config.unavailableWait())) {
            return refused(unavailable("the gateway is starting: policies and interventions are not loaded yet"));
        }
        GenerationService.Acceptance acceptance;
        try {
            acceptance = Retry.within(config.unavailableWait(), "accepting HTTP request " + id,
                    () -> generations.accept(decoded, Generation.Source.HTTP, stream));
        } catch (Retry.PermanentFailure refused) {
            acceptance = Retry.within(config.unavailableWait(), "failing HTTP request " + id, () -> generations.failUnstorable(
                    id, tenant, Generation.Source.HTTP, Failures.rootMessage(refused.getCause())));
        }
        if (acceptance.overQuota() != null) {
            return refused(Response.status(Response.Status.TOO_MANY_REQUESTS)
                    .header("Retry-After", String.valueOf(acceptance.overQuota().retryAfterSeconds()))
                    .entity(acceptance.overQuota().error()).type(MediaType.APPLICATION_JSON).build());
        }
        return new Admission(null, tenant, id, acceptance);
    }

    private static Admission refused(Response refusal) {
        return new Admission(refusal, null, null, null);
    }

    /** 504: no outcome within steergate.gateway.http-wait; the request goes on and its result can be polled. */
    public Response timedOut(String id) {
        return error(Response.Status.GATEWAY_TIMEOUT, ErrorInfo.of(ErrorCode.TIMEOUT,
                "no outcome for " + id + " within " + config.httpWait().toSeconds() + " s; GET /v1/generations/" + id + " later"));
    }

    /** How long an HTTP caller waits for an outcome (steergate.gateway.http-wait). */
    public Duration httpWait() {
        return config.httpWait();
    }

    private Response unavailable(String message) {
        return Response.status(Response.Status.SERVICE_UNAVAILABLE).header("Retry-After", GenerationResource.RETRY_AFTER_SECONDS)
                .entity(ErrorInfo.of(ErrorCode.UNAVAILABLE, message)).type(MediaType.APPLICATION_JSON).build();
    }

    /** The name of the model the workers serve: what a request is generated with. */
    public String servedModel() {
        return config.model();
    }

    /** The native answer to a stored result: 200 with its JSON when COMPLETED, else its error with its status. */
    public Response answer(String resultJson) {
        GenerationResult result = read(resultJson);
        return switch (result.status()) {
            case COMPLETED -> Response.ok(resultJson).build();
            case REJECTED -> error(statusFor(result.error()), result.error());
            case FAILED -> error(Response.Status.INTERNAL_SERVER_ERROR, result.error());
        };
    }

    private static int statusFor(ErrorInfo error) {
        if (ErrorCode.MESSAGE_TOO_LARGE.name().equals(error.code())) {
            return Response.Status.REQUEST_ENTITY_TOO_LARGE.getStatusCode();
        }
        // the request was valid; the policy refused what came of it
        return ErrorCode.OUTPUT_WITHHELD.name().equals(error.code()) ? UNPROCESSABLE_CONTENT : Response.Status.BAD_REQUEST.getStatusCode();
    }

    private static Response error(Response.Status status, ErrorInfo error) {
        return error(status.getStatusCode(), error);
    }

    private static Response error(int status, ErrorInfo error) {
        return Response.status(status).entity(error).type(MediaType.APPLICATION_JSON).build();
    }

    private GenerationResult read(String resultJson) {
        try {
            return json.readValue(resultJson, GenerationResult.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored result is unreadable", e);
        }
    }
}
