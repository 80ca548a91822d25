package io.steergate.retraining;

import io.smallrye.common.annotation.Blocking;
import io.steergate.security.Roles;
import jakarta.annotation.security.RolesAllowed;
import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorCode;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/** Prompt sets over HTTP: import a JSONL body under a name (immutable once stored), list, read. */
@Path("/v1/prompt-sets")
@Tag(name = "retraining")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Roles.OPERATOR)
@Blocking
public class PromptSetResource {

    @Inject
    PromptSetStore store;

    @POST
    @Path("/{name}")
    @Consumes(MediaType.WILDCARD)
    @Operation(summary = "Import a prompt set: JSONL, one {\"text\": \"...\"} object a line")
    @APIResponse(responseCode = "201", description = "Stored")
    @APIResponse(responseCode = "200", description = "The same texts were already stored under this name: nothing changed")
    @APIResponse(responseCode = "400", description = "Bad name, or bad JSONL (the message names the line)")
    @APIResponse(responseCode = "409", description = "The name already holds other texts")
    public Response importSet(@PathParam("name") String name, String body) {
        PromptSetStore.Imported imported = store.importSet(name, body);
        return Response.status(imported.created() ? Response.Status.CREATED : Response.Status.OK).entity(imported.set()).build();
    }

    @GET
    @Operation(summary = "All prompt sets (no texts)")
    public List<PromptSetStore.PromptSetSummary> list() {
        return store.list();
    }

    @GET
    @Path("/{name}")
    @Operation(summary = "One prompt set with its texts")
    @APIResponse(responseCode = "404", description = "No such prompt set")
    public PromptSetStore.PromptSetContent get(@PathParam("name") String name) {
        return store.get(name).orElseThrow(() -> new ApiError(404, ErrorCode.NOT_FOUND, "prompt set '" + name + "': not found"));
    }
}
