package io.steergate.app;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.ForbiddenException;
import io.quarkus.security.UnauthorizedException;
import io.steergate.gateway.GenerationResource;
import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.messages.SafeText;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** Every HTTP error is JSON {@code {"code", "message"}} with its status; never a stack trace. */
public class ErrorMapper {

    private static final Logger LOG = Logger.getLogger(ErrorMapper.class);

    @ServerExceptionMapper
    public Response notFound(NotFoundException e) {
        return json(Response.Status.NOT_FOUND, new ErrorInfo("NOT_FOUND", "no such resource"));
    }

    @ServerExceptionMapper
    public Response refused(ApiError e) {
        LOG.infof("HTTP request refused: %s %s", e.error().code(), e.error().message());
        return json(e.status(), e.error());
    }

    /** No credential, or one that is unknown, expired or revoked: the same answer for each, so none is confirmed. */
    @ServerExceptionMapper({UnauthorizedException.class, AuthenticationFailedException.class})
    public Response unauthenticated(RuntimeException e) {
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof Retry.Unavailable unavailable) {
                // the credential could not be checked (database away): 503, not a verdict on the credential
                return unavailable(unavailable);
            }
        }
        return Response.status(Response.Status.UNAUTHORIZED).header("WWW-Authenticate", "Bearer")
                .entity(ErrorInfo.of(ErrorCode.UNAUTHENTICATED,
                        "a valid credential is required: Authorization: Bearer <API key or access token>"))
                .type(MediaType.APPLICATION_JSON).build();
    }

    /**
     * A JSON body that does not parse, or does not fit the endpoint's fields: 400 naming where. Without this, Quarkus
     * answers 400 with no body (its own mapper of MismatchedInputException, hence named here); Jackson's own message
     * is not passed on (it names Java types).
     */
    @ServerExceptionMapper({JsonProcessingException.class, MismatchedInputException.class})
    public Response unreadableBody(JsonProcessingException e) {
        String where = e instanceof JsonMappingException mapping && !mapping.getPath().isEmpty()
                ? "field " + SafeText.of(mapping.getPath().stream()
                        .map(step -> step.getFieldName() != null ? step.getFieldName() : String.valueOf(step.getIndex()))
                        .collect(Collectors.joining(".")), 200) + " has the wrong type"
                : e.getLocation() == null ? "not valid JSON"
                : "not valid JSON at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
        return json(Response.Status.BAD_REQUEST, ErrorInfo.of(ErrorCode.INVALID_REQUEST, "body: " + where));
    }

    @ServerExceptionMapper
    public Response forbidden(ForbiddenException e) {
        return json(Response.Status.FORBIDDEN, ErrorInfo.of(ErrorCode.FORBIDDEN, "the credential's roles do not allow this"));
    }

    @ServerExceptionMapper
    public Response web(WebApplicationException e) {
        if (e.getCause() instanceof JsonProcessingException unreadable) {
            // Quarkus wraps a body that does not parse as JSON
            return unreadableBody(unreadable);
        }
        Response.StatusType status = e.getResponse().getStatusInfo();
        return Response.status(status.getStatusCode())
                .entity(new ErrorInfo(status.getReasonPhrase().toUpperCase().replace(' ', '_'), e.getMessage()))
                .type(MediaType.APPLICATION_JSON).build();
    }

    /** A dependency stayed away past the caller's wait: 503 with Retry-After, one log line. */
    @ServerExceptionMapper
    public Response unavailable(Retry.Unavailable e) {
        LOG.warnf("HTTP request answered 503: %s", e.getMessage());
        return Response.status(Response.Status.SERVICE_UNAVAILABLE).header("Retry-After", GenerationResource.RETRY_AFTER_SECONDS)
                .entity(ErrorInfo.of(ErrorCode.UNAVAILABLE, e.getMessage())).type(MediaType.APPLICATION_JSON).build();
    }

    @ServerExceptionMapper
    public Response unexpected(RuntimeException e) {
        if (Failures.isTransient(e)) {
            return unavailable(new Retry.Unavailable("answering an HTTP request", e));
        }
        LOG.error("unexpected error answering an HTTP request", e);
        return json(Response.Status.INTERNAL_SERVER_ERROR, new ErrorInfo("INTERNAL", "internal error; see the gateway log"));
    }

    private static Response json(Response.Status status, ErrorInfo error) {
        return json(status.getStatusCode(), error);
    }

    private static Response json(int status, ErrorInfo error) {
        return Response.status(status).entity(error).type(MediaType.APPLICATION_JSON).build();
    }
}
