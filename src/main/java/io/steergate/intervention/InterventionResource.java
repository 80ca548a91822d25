package io.steergate.intervention;

import io.smallrye.common.annotation.Blocking;
import io.steergate.messages.ApiError;
import io.steergate.security.Caller;
import io.steergate.security.Roles;
import jakarta.annotation.security.RolesAllowed;
import io.steergate.messages.ErrorCode;
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
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/** The intervention registry over HTTP (reads: every role; changes: operators); every refusal is {code, message} with its status (see ApiError). */
@Path("/v1/interventions")
@Tag(name = "interventions")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Roles.OPERATOR)
@Blocking
public class InterventionResource {

    @Inject
    InterventionRegistry registry;

    @Inject
    Caller caller;

    @GET
    @RolesAllowed({Roles.CLIENT, Roles.REVIEWER, Roles.AUDITOR, Roles.OPERATOR})
    @Operation(summary = "All interventions with their versions (no map bytes)")
    public List<InterventionRegistry.InterventionSummary> list() {
        return registry.list();
    }

    @GET
    @Path("/{name}")
    @RolesAllowed({Roles.CLIENT, Roles.REVIEWER, Roles.AUDITOR, Roles.OPERATOR})
    @Operation(summary = "One intervention with its versions")
    @APIResponse(responseCode = "200", description = "The intervention")
    @APIResponse(responseCode = "404", description = "No such intervention")
    public InterventionRegistry.InterventionSummary get(@PathParam("name") String name) {
        return registry.get(name).orElseThrow(() -> new ApiError(404, ErrorCode.NOT_FOUND, "intervention '" + name + "': not found"));
    }

    @POST
    @Path("/{name}/versions")
    @Consumes(MediaType.WILDCARD)
    @Operation(summary = "Upload a map file (safetensors, steergate.intervention/v1) as a new candidate version",
            description = "kind (toxicity, style, negation, concept) and description are required for a new intervention.")
    @APIResponse(responseCode = "201", description = "Stored as a candidate version")
    @APIResponse(responseCode = "400", description = "Bad name or kind, or a createdBy parameter (it is the credential's name)")
    @APIResponse(responseCode = "409", description = "The intervention exists with another kind")
    @APIResponse(responseCode = "422", description = "Malformed file, or a map for another model, depth or width (the message names the mismatch)")
    public Response upload(@PathParam("name") String name, @QueryParam("kind") String kind,
            @QueryParam("description") String description, @QueryParam("createdBy") String createdBy, byte[] file) {
        if (createdBy != null) {
            throw new ApiError(400, ErrorCode.INVALID_REQUEST, "createdBy: is taken from the credential; leave it out");
        }
        InterventionRegistry.VersionSummary version = registry.upload(name, kind, description, file, caller.name());
        return Response.status(Response.Status.CREATED).entity(version).build();
    }

    @POST
    @Path("/{name}/versions/{version}/promote")
    @Operation(summary = "Make a version the active one; the previous active version goes back to candidate",
            description = "A version the evaluation gate REFUSED is promoted only with overrideGate=true; the override is "
                    + "recorded on the version (gateOverrideBy: the credential's name).")
    @APIResponse(responseCode = "200", description = "Promoted")
    @APIResponse(responseCode = "404", description = "No such version")
    @APIResponse(responseCode = "409", description = "The version is retired, or its evaluation gate REFUSED it and overrideGate is not true")
    public InterventionRegistry.VersionSummary promote(@PathParam("name") String name, @PathParam("version") int version,
            @QueryParam("overrideGate") boolean overrideGate) {
        return registry.promote(name, version, overrideGate, caller.name());
    }

    @POST
    @Path("/{name}/versions/{version}/retire")
    @Operation(summary = "Take a version out of use for good")
    @APIResponse(responseCode = "200", description = "Retired")
    @APIResponse(responseCode = "404", description = "No such version")
    public InterventionRegistry.VersionSummary retire(@PathParam("name") String name, @PathParam("version") int version) {
        return registry.retire(name, version);
    }
}
