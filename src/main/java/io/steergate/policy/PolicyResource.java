package io.steergate.policy;

import io.smallrye.common.annotation.Blocking;
import io.steergate.security.Roles;
import jakarta.annotation.security.RolesAllowed;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DefaultValue;
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

/** The policies in force, and validation of a policy file before it is dropped into policies/. */
@Path("/v1/policies")
@Tag(name = "policies")
@Produces(MediaType.APPLICATION_JSON)
@RolesAllowed(Roles.OPERATOR)
@Blocking
public class PolicyResource {

    @Inject
    PolicyEngine engine;

    /** What a listing shows of a policy in force. */
    public record PolicySummary(String id, String version, String file, String description, List<String> tenants,
            int rules, List<String> styles, List<String> scorers) {

        static PolicySummary of(Policy p) {
            return new PolicySummary(p.id(), p.version(), p.source(), p.description(), p.tenants(), p.rules().size(),
                    List.copyOf(p.styles().keySet()), p.scorers().stream().map(Policy.ScorerSpec::name).toList());
        }
    }

    /** The outcome of a validation: valid with the id and version it would have, or the errors at file:line:column. */
    public record Validation(boolean valid, String id, String version, List<String> errors) {}

    /** A refused validation: the usual {code, message} plus every error. */
    public record ValidationError(String code, String message, List<String> errors) {}

    @GET
    @Operation(summary = "The policies in force")
    public List<PolicySummary> list() {
        return engine.policies().stream().map(PolicySummary::of).toList();
    }

    @GET
    @Path("/{id}")
    @Operation(summary = "One policy in force, whole")
    @APIResponse(responseCode = "200", description = "The policy")
    @APIResponse(responseCode = "404", description = "No policy with this id is in force")
    public Response get(@PathParam("id") String id) {
        return engine.policy(id).map(p -> Response.ok(p).build())
                .orElseGet(() -> Response.status(404).entity(ErrorInfo.of(ErrorCode.NOT_FOUND, "policy " + id + ": not in force"))
                        .type(MediaType.APPLICATION_JSON).build());
    }

    /** What a reload did, file by file. */
    public record Reload(List<String> accepted, List<String> unchanged, List<String> removed, List<String> refused) {}

    @POST
    @Path("/reload")
    @Operation(summary = "Re-read policies/ now, instead of waiting for the periodic reload")
    @APIResponse(responseCode = "200", description = "What came into force, what was unchanged or removed, and every refusal at file:line:column (the previous version of a refused file stays in force)")
    public Reload reload() throws java.io.IOException {
        PolicyStore.ReloadReport report = engine.reloadNow();
        return new Reload(report.accepted(), report.unchanged(), report.removed(), report.refused().stream()
                .flatMap(r -> r.errors().stream().map(PolicyError::toString)).toList());
    }

    @POST
    @Path("/validate")
    @Consumes(MediaType.WILDCARD)
    @Operation(summary = "Check a policy file (YAML body) against the registry and the policies in force, without applying it")
    @APIResponse(responseCode = "200", description = "Valid: {valid, id, version}")
    @APIResponse(responseCode = "422", description = "Invalid: {code, message, errors: [file:line:column: message]}")
    public Response validate(@QueryParam("file") @DefaultValue("policy.yaml") String file, byte[] body) {
        PolicyParser.Result result = engine.validate(file, body);
        if (result.ok()) {
            return Response.ok(new Validation(true, result.policy().id(), result.version(), List.of())).build();
        }
        List<String> errors = result.errors().stream().map(PolicyError::toString).toList();
        return Response.status(422).type(MediaType.APPLICATION_JSON)
                .entity(new ValidationError("POLICY_INVALID", errors.size() + " error(s); first: " + errors.get(0), errors)).build();
    }
}
