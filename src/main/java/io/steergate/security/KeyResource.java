package io.steergate.security;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import io.smallrye.common.annotation.Blocking;
import io.steergate.messages.ApiError;
import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/** API keys over HTTP, for operators: issue (the key is in this answer only), list, revoke. */
@Path("/v1/keys")
@Tag(name = "keys")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Roles.OPERATOR)
@Blocking
public class KeyResource {

    @Inject
    ApiKeys keys;

    @Inject
    Caller caller;

    @Inject
    AuthConfig config;

    /**
     * The body of POST /v1/keys. expiresAt (ISO-8601 instant) or expiresIn (ISO-8601 duration, e.g. P30D); neither:
     * steergate.auth.key-lifetime; {@code "expiresIn": "never"} for a key without expiry.
     */
    public record KeyRequest(List<String> tenants, List<String> roles, String description, String expiresAt, String expiresIn) {}

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Issue an API key", description = "The answer holds the key; it is not stored and cannot be shown again.")
    @APIResponse(responseCode = "201", description = "{key, id, tenants, roles, ...}")
    @APIResponse(responseCode = "400", description = "A bad field; the message names it")
    public Response issue(KeyRequest request) {
        if (request == null) {
            throw ApiError.badField("body", "must be a JSON object {tenants, roles, description?, expiresAt? | expiresIn?}");
        }
        ApiKeys.Issued issued = keys.issue(request.tenants(), request.roles(), request.description(), expiry(request), caller.name());
        return Response.status(Response.Status.CREATED).entity(new IssuedView(issued.key(), issued.view())).build();
    }

    /** The key next to its description; the only answer that ever holds it. */
    public record IssuedView(String key, @JsonUnwrapped ApiKeys.KeyView view) {}

    @GET
    @Operation(summary = "Every key issued, oldest first, without the keys themselves")
    public List<ApiKeys.KeyView> list() {
        return keys.list();
    }

    @DELETE
    @Path("/{id}")
    @Operation(summary = "Revoke a key for good")
    @APIResponse(responseCode = "200", description = "The revoked key")
    @APIResponse(responseCode = "404", description = "No such key")
    public ApiKeys.KeyView revoke(@PathParam("id") String id) {
        return keys.revoke(id, caller.name());
    }

    private Instant expiry(KeyRequest request) {
        if (request.expiresAt() != null && request.expiresIn() != null) {
            throw ApiError.badField("expiresAt", "give expiresAt or expiresIn, not both");
        }
        if (request.expiresAt() != null) {
            return ApiError.instantField("expiresAt", request.expiresAt(), "2027-01-31T00:00:00Z");
        }
        if ("never".equals(request.expiresIn())) {
            return null;
        }
        Duration lifetime = config.keyLifetime();
        if (request.expiresIn() != null) {
            try {
                lifetime = Duration.parse(request.expiresIn());
            } catch (DateTimeParseException e) {
                throw ApiError.badField("expiresIn", "must be an ISO-8601 duration such as P30D, or \"never\"");
            }
            if (lifetime.isNegative() || lifetime.isZero()) {
                throw ApiError.badField("expiresIn", "must be a positive duration such as P30D, or \"never\"");
            }
        }
        Instant now = Instant.now();
        // compared before adding: PT9223372036854775807S would overflow Instant.plus (a 500 with a trace)
        if (lifetime.compareTo(Duration.between(now, ApiError.LATEST_INSTANT)) > 0) {
            throw ApiError.badField("expiresIn", "must end before the year 10000; for a key that never expires send \"never\"");
        }
        return now.plus(lifetime);
    }
}
