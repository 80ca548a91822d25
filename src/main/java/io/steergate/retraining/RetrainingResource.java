package io.steergate.retraining;

import io.smallrye.common.annotation.Blocking;
import io.steergate.security.Caller;
import io.steergate.security.Roles;
import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/**
 * Queues a training of an intervention over HTTP (202 with the job; follow it at /v1/retraining-jobs/{id}). Its own
 * root path: RESTEasy Reactive does not fall back to another class when a longer class path matches first.
 */
@Path("/v1/interventions/{name}/train")
@Tag(name = "retraining")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Roles.OPERATOR)
@Blocking
public class RetrainingResource {

    @Inject
    RetrainingService jobs;

    @Inject
    Caller caller;

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Queue a training of an intervention from two stored prompt sets",
            description = "Body: method (linear-act, mean-shift, lineas), source, target (prompt set names), sites (e.g. resid, "
                    + "layers.0-2.resid), steps, learningRate, l1, groupLasso (LinEAS), seed, kind and description (a new "
                    + "intervention needs kind), promote, evaluation {prompts, concept, desired, strength} (held-out prompt set and "
                    + "lexicons; default: the intervention's). The result is stored as a candidate version, measured by the "
                    + "evaluation gate, and promoted if asked and the gate PASSED it.")
    @APIResponse(responseCode = "202", description = "Queued; follow it at /v1/retraining-jobs/{id}")
    @APIResponse(responseCode = "400", description = "A bad field; the message names it (a held-out set that shares a text with the training sets, promote without an evaluation)")
    @APIResponse(responseCode = "404", description = "An unknown prompt set")
    @APIResponse(responseCode = "409", description = "A kind other than the intervention's, or no served model to check sites against")
    public Response train(@PathParam("name") String name, TrainingRequest body) {
        // requestedBy is the credential's name; nothing in the request can set it
        return Response.accepted(jobs.request(name, body, caller.name())).build();
    }
}
