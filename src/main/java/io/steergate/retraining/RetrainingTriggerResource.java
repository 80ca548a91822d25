package io.steergate.retraining;

import io.smallrye.common.annotation.Blocking;
import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorCode;
import io.steergate.security.Caller;
import io.steergate.security.Roles;
import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.util.List;
import java.util.UUID;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/**
 * Firings of the policies' retraining triggers, with their evidence and every step (fired, queued, trained, promoted,
 * watch, rolled back). Operators see all; a reviewer sees the firings whose measured tenants it holds.
 */
@Path("/v1/retraining-triggers")
@Tag(name = "retraining")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed({Roles.OPERATOR, Roles.REVIEWER})
@Blocking
public class RetrainingTriggerResource {

    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 500;

    @Inject
    RetrainingTriggers triggers;

    @Inject
    Caller caller;

    @GET
    @Operation(summary = "Retraining trigger firings, newest first, with evidence and steps")
    @APIResponse(responseCode = "400", description = "A bad limit")
    public List<TriggerFiringView> list(
            @Parameter(description = "only this policy's firings") @QueryParam("policy") String policy,
            @Parameter(description = "only this intervention's firings") @QueryParam("intervention") String intervention,
            @Parameter(description = "at most this many, 1-500 (default 50)") @QueryParam("limit") String limit) {
        return triggers.list(policy, intervention, caller.tenantScope(),
                limit == null ? DEFAULT_LIMIT : ApiError.wholeNumberField("limit", limit, 1, MAX_LIMIT));
    }

    @GET
    @Path("/{id}")
    @Operation(summary = "One retraining trigger firing with its evidence and steps")
    @APIResponse(responseCode = "404", description = "No such firing, or none the caller's tenants cover")
    public TriggerFiringView get(@PathParam("id") String id) {
        UUID uuid;
        try {
            uuid = UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw notFound(id);
        }
        return triggers.get(uuid, caller.tenantScope()).orElseThrow(() -> notFound(id));
    }

    private static ApiError notFound(String id) {
        return new ApiError(404, ErrorCode.NOT_FOUND, "retraining trigger firing '" + id + "': not found");
    }
}
