package io.steergate.gateway;

import io.smallrye.common.annotation.Blocking;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import io.steergate.security.Caller;
import io.steergate.security.Roles;
import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/**
 * The synchronous door to the same pipeline as steer.requests: the request is stored and queued, then awaited. The
 * tenant is the credential's: a body without one gets it, a body naming another is refused TENANT_MISMATCH, and an id
 * is looked up only among the caller's tenants (another tenant's id is as unknown as one never sent).
 */
@Path("/v1/generations")
@Tag(name = "generations")
@Produces(MediaType.APPLICATION_JSON)
@Blocking
public class GenerationResource {

    @Inject
    SynchronousGenerations synchronous;

    /** What a 503 asks the client to wait: about how long a database or broker restart takes. */
    public static final String RETRY_AFTER_SECONDS = "5";

    @Inject
    Caller caller;

    @POST
    @RolesAllowed(Roles.CLIENT)
    @Consumes(MediaType.WILDCARD)
    @Operation(summary = "Generate synchronously", description = "Body: a GenerationRequest (docs/architecture.md 4.2). Waits up to steergate.gateway.http-wait.")
    @APIResponse(responseCode = "200", description = "COMPLETED: the GenerationResult")
    @APIResponse(responseCode = "400", description = "Invalid request: {code, message} naming the field")
    @APIResponse(responseCode = "403", description = "TENANT_MISMATCH: the body names a tenant the credential does not hold")
    @APIResponse(responseCode = "413", description = "Request larger than steergate.limits.message-bytes")
    @APIResponse(responseCode = "422", description = "OUTPUT_WITHHELD: every escalation rung's output was flagged by the policy's scorers; the message names the scores")
    @APIResponse(responseCode = "429", description = "QUOTA_EXCEEDED: the tenant used a quota; nothing stored, retry after Retry-After seconds")
    @APIResponse(responseCode = "500", description = "FAILED: generation failed on our side")
    @APIResponse(responseCode = "503", description = "A dependency is down or the gateway is starting: retry after Retry-After seconds")
    @APIResponse(responseCode = "504", description = "No outcome within the wait; poll GET /v1/generations/{id}")
    public Response generate(byte[] body) throws InterruptedException {
        return synchronous.generate(body);
    }

    @GET
    @Path("/{id}")
    @RolesAllowed({Roles.CLIENT, Roles.OPERATOR})
    @Operation(summary = "The stored outcome of a request, whichever door it came through, among the caller's tenants")
    @APIResponse(responseCode = "200", description = "The GenerationResult (COMPLETED, REJECTED or FAILED)")
    @APIResponse(responseCode = "202", description = "Accepted, not finished: {id, status: PENDING}")
    @APIResponse(responseCode = "404", description = "No request with this id for the caller's tenants (or for ?tenant=)")
    @APIResponse(responseCode = "409", description = "A caller of several tenants: the id exists for more than one; name ?tenant=")
    public Response get(@PathParam("id") String id, @QueryParam("tenant") String tenant) {
        List<Generation> rows = tenant != null
                ? (caller.holds(tenant) ? Generation.byTenantAndRequestId(tenant, id).stream().toList() : List.of())
                : Generation.byRequestIdAmong(id, caller.tenantScope());
        if (rows.isEmpty()) {
            return error(Response.Status.NOT_FOUND, ErrorInfo.of(ErrorCode.NOT_FOUND, "generation " + id + ": not found"));
        }
        if (rows.size() > 1) {
            return error(Response.Status.CONFLICT, ErrorInfo.of(ErrorCode.CONFLICT,
                    "generation " + id + " exists for several of the caller's tenants; name one with ?tenant="));
        }
        Generation generation = rows.get(0);
        if (!generation.finished()) {
            return Response.accepted(Map.of("id", id, "status", "PENDING")).build();
        }
        return Response.ok(generation.resultJson).build();
    }

    private static Response error(Response.Status status, ErrorInfo error) {
        return error(status.getStatusCode(), error);
    }

    private static Response error(int status, ErrorInfo error) {
        return Response.status(status).entity(error).type(MediaType.APPLICATION_JSON).build();
    }
}
