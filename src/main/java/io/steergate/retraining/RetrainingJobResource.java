package io.steergate.retraining;

import io.smallrye.common.annotation.Blocking;
import io.steergate.security.Roles;
import jakarta.annotation.security.RolesAllowed;
import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorCode;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/**
 * Retraining jobs over HTTP: the newest (up to ?limit=), or one with its status, progress, metrics, result version or
 * error.
 */
@Path("/v1/retraining-jobs")
@Tag(name = "retraining")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Roles.OPERATOR)
@Blocking
public class RetrainingJobResource {

    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 500;

    @Inject
    RetrainingService jobs;

    @GET
    @Operation(summary = "Retraining jobs, newest first; ?intervention= keeps one intervention's")
    @APIResponse(responseCode = "400", description = "A bad limit")
    public List<RetrainingJobSummary> list(
            @Parameter(description = "only this intervention's jobs") @QueryParam("intervention") String intervention,
            @Parameter(description = "at most this many, 1-500 (default 50)") @QueryParam("limit") String limit) {
        return jobs.list(intervention,
                limit == null ? DEFAULT_LIMIT : ApiError.wholeNumberField("limit", limit, 1, MAX_LIMIT));
    }

    @GET
    @Path("/{id}")
    @Operation(summary = "One retraining job: status, progress, metrics, result version or error")
    @APIResponse(responseCode = "404", description = "No such job")
    public RetrainingJobSummary get(@PathParam("id") String id) {
        return parse(id).flatMap(jobs::get)
                .orElseThrow(() -> new ApiError(404, ErrorCode.NOT_FOUND, "retraining job '" + id + "': not found"));
    }

    private static Optional<UUID> parse(String id) {
        try {
            return Optional.of(UUID.fromString(id));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
