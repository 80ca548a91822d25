package io.steergate.audit;

import io.smallrye.common.annotation.Blocking;
import io.steergate.security.Caller;
import io.steergate.security.Roles;
import io.vertx.ext.web.RoutingContext;
import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/**
 * The audit trail over HTTP: query with filters and cursor paging, one record whole, append a review verdict; each
 * limited to the caller's tenants (an operator's: all), and another tenant's record answers as a missing one does.
 * The evidence: check a tenant's hash chain, export it as a signed bundle, the public key that checks the bundle.
 */
@Path("/v1/audit")
@Tag(name = "audit")
@Produces(MediaType.APPLICATION_JSON)
@Blocking
public class AuditResource {

    @Inject
    AuditQuery audit;

    @Inject
    AuditEvidence evidence;

    @Inject
    AuditSigningKey signingKey;

    @Inject
    Caller caller;

    @GET
    @RolesAllowed({Roles.AUDITOR, Roles.REVIEWER, Roles.OPERATOR})
    @Operation(summary = "Audit records, newest first, with cursor paging",
            description = "All filters are optional and combine with AND. nextCursor is null on the last page.")
    @APIResponse(responseCode = "200", description = "{items, nextCursor}")
    @APIResponse(responseCode = "400", description = "A bad parameter; the message names it")
    @APIResponse(responseCode = "403", description = "TENANT_MISMATCH: ?tenant= names a tenant the credential does not hold")
    public AuditViews.Page list(
            @Parameter(description = "exact tenant") @QueryParam("tenant") String tenant,
            @Parameter(description = "ISO-8601 instant; recorded at or after") @QueryParam("from") String from,
            @Parameter(description = "ISO-8601 instant; recorded before") @QueryParam("to") String to,
            @Parameter(description = "records whose plan applied this intervention") @QueryParam("intervention") String intervention,
            @Parameter(description = "latest review verdict: ok, violation, unsure or unreviewed") @QueryParam("verdict") String verdict,
            @Parameter(description = "records with this scorer's value; with minScore/maxScore a range on it") @QueryParam("scorer") String scorer,
            @Parameter(description = "inclusive lower bound on the scorer's value (needs scorer)") @QueryParam("minScore") String minScore,
            @Parameter(description = "inclusive upper bound on the scorer's value (needs scorer)") @QueryParam("maxScore") String maxScore,
            @Parameter(description = "page size, 1-500 (default 50)") @QueryParam("limit") String limit,
            @Parameter(description = "nextCursor of the previous page") @QueryParam("cursor") String cursor) {
        if (tenant != null && !tenant.isEmpty()) {
            caller.requireTenant(tenant);
        }
        return audit.search(new AuditQuery.Filter(tenant, from, to, intervention, verdict, scorer, minScore, maxScore, limit, cursor),
                caller.tenantScope());
    }

    @GET
    @Path("/{id}")
    @RolesAllowed({Roles.AUDITOR, Roles.REVIEWER, Roles.OPERATOR})
    @Operation(summary = "One audit record with its decision trace and every review verdict")
    @APIResponse(responseCode = "200", description = "The record")
    @APIResponse(responseCode = "404", description = "No such record")
    public AuditViews.Detail get(@PathParam("id") long id) {
        return audit.get(id, caller.tenantScope());
    }

    @POST
    @Path("/{id}/review")
    @RolesAllowed(Roles.REVIEWER)
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Append a review verdict (ok, violation, unsure); the latest verdict of a record counts",
            description = "Body: {verdict, note?}. The reviewer is the credential's name; a body naming one is refused.")
    @APIResponse(responseCode = "201", description = "The stored review")
    @APIResponse(responseCode = "400", description = "A bad field, or a reviewer field; the message names it")
    @APIResponse(responseCode = "404", description = "No such record")
    public Response review(@PathParam("id") long id, AuditViews.ReviewRequest request) {
        return Response.status(Response.Status.CREATED).entity(audit.review(id, request, caller.name(), caller.tenantScope())).build();
    }

    @GET
    @Path("/verify")
    @RolesAllowed({Roles.AUDITOR, Roles.OPERATOR})
    @Operation(summary = "Check a tenant's audit hash chain",
            description = "Recomputes every record's hash from its content and its predecessor's hash, and compares the"
                    + " chain with its head (records deleted from the end). ok false names the first broken record.")
    @APIResponse(responseCode = "200", description = "{tenant, records, ok, firstBrokenId, reason}")
    @APIResponse(responseCode = "400", description = "tenant missing or malformed")
    @APIResponse(responseCode = "429", description = "steergate.audit.max-concurrent-walks verifies or exports running")
    public AuditChain.Check verify(
            @Parameter(description = "the tenant; empty for the records without a tenant") @QueryParam("tenant") String tenant,
            @Context UriInfo uri) {
        return evidence.verify(requireChainOf(tenant, uri));
    }

    @GET
    @Path("/export")
    @RolesAllowed({Roles.AUDITOR, Roles.OPERATOR})
    @Produces("application/x-ndjson")
    @Operation(summary = "A tenant's audit chain as a signed bundle (JSON lines, Ed25519 signature line last)",
            description = "Check it offline with `deploy/steer audit verify-export --bundle F --public-key K`"
                    + " (README, Audit evidence).")
    @APIResponse(responseCode = "200", description = "header line, one line per record in chain order, signature line")
    @APIResponse(responseCode = "400", description = "tenant missing or malformed")
    @APIResponse(responseCode = "409", description = "the chain's head disagrees with the records stored: run verify")
    @APIResponse(responseCode = "429", description = "steergate.audit.max-concurrent-walks verifies or exports running")
    public Response export(
            @Parameter(description = "the tenant; empty for the records without a tenant") @QueryParam("tenant") String tenant,
            @Context UriInfo uri, @Context RoutingContext request) {
        String key = AuditEvidence.chainKey(requireChainOf(tenant, uri));
        AuditEvidence.Export body = evidence.export(key);
        // a HEAD never writes the body (nor does a client gone before it): the walk's place must not stay taken
        request.addEndHandler(ended -> body.abandon());
        return Response.ok(body).header("Content-Disposition",
                "attachment; filename=\"audit-" + (key.isEmpty() ? "no-tenant" : key) + ".jsonl\"").build();
    }

    @GET
    @Path("/public-key")
    @RolesAllowed({Roles.AUDITOR, Roles.OPERATOR})
    @Produces("application/x-pem-file")
    @Operation(summary = "The Ed25519 public key (PEM) that checks export bundles")
    @APIResponse(responseCode = "200", description = "PEM, X.509 SubjectPublicKeyInfo")
    public String publicKey() {
        return signingKey.publicKeyPem();
    }

    /**
     * The chain {@code ?tenant=} names: an auditor checks and exports only its tenants' chains; the chain of records
     * without a tenant ({@code tenant=}) is an operator's. Null when the parameter is absent.
     */
    private String requireChainOf(String tenant, UriInfo uri) {
        // Quarkus REST reads an empty query value as null: tell `tenant=` from no parameter by its presence
        String chain = tenant == null && uri.getQueryParameters().containsKey("tenant") ? "" : tenant;
        if (chain != null) {
            caller.requireTenant(chain);
        }
        return chain;
    }
}
