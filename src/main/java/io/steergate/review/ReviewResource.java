package io.steergate.review;

import io.quarkus.qute.CheckedTemplate;
import io.quarkus.qute.TemplateInstance;
import io.smallrye.common.annotation.Blocking;
import io.steergate.audit.AuditQuery;
import io.steergate.audit.AuditViews;
import io.steergate.intervention.InterventionRegistry;
import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.Identifiers;
import io.steergate.security.ReviewSessions;
import io.steergate.security.ReviewSessions.Session;
import io.steergate.security.Roles;
import io.vertx.core.http.HttpServerRequest;
import jakarta.annotation.security.PermitAll;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.CookieParam;
import jakarta.ws.rs.FormParam;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HEAD;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.NewCookie;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * The reviewers' and operators' web UI under /review: sign-in with an API key, the queue, one record with its verdict
 * form, the dashboard; for operators, retraining jobs with their loss curves and gate reports, and the approval of a
 * candidate version (through the registry's promote and retire, as the API's). Reviewing (the queue, verdicts) needs
 * the reviewer role, the retraining pages the operator role: a session without it gets 403. Failed sign-ins are
 * limited per client address and overall ({@link SignInLimiter}: 429 with Retry-After). Its credential is the session
 * cookie (HttpOnly, SameSite=Strict; {@link ReviewSessions}), which every page but the sign-in form resolves first:
 * without a live session a page redirects to the sign-in form. So the methods are {@link PermitAll} for Quarkus'
 * bearer mechanisms, which never authenticate a page, and the cookie never authenticates the API under /v1. Every
 * POST carries the session's CSRF token (a hidden field) besides SameSite. The pages are HTML, not API: they are
 * left out of the OpenAPI document.
 */
@Path("/review")
@PermitAll
@Produces(MediaType.TEXT_HTML)
@Blocking
public class ReviewResource {

    public static final String SESSION_COOKIE = "steergate_review";
    /** The sign-in form's double-submit token: a POST must carry the value this cookie holds. */
    public static final String SIGN_IN_COOKIE = "steergate_review_sign_in";
    public static final String SIGN_IN = "/review/sign-in";
    private static final String COOKIE_PATH = "/review";
    private static final int QUEUE_PAGE = 50;

    @CheckedTemplate(basePath = "review")
    static class Templates {
        static native TemplateInstance signIn(String message, String formToken);

        static native TemplateInstance queue(Session session, List<ReviewQueue.Entry> entries, ReviewQueue.Filter filter,
                List<String> interventions, List<String> policies, boolean empty);

        static native TemplateInstance record(Session session, ReviewRecords.View view, ReviewQueue.Filter filter);

        static native TemplateInstance dashboard(Session session, ReviewDashboard.Dashboard dashboard, String conceptChart);

        static native TemplateInstance retraining(Session session, List<RetrainingViews.Row> jobs, String intervention,
                List<String> interventions);

        static native TemplateInstance job(Session session, RetrainingViews.Job job);

        static native TemplateInstance problem(String title, String message);
    }

    @Inject
    ReviewSessions sessions;

    @Inject
    ReviewQueue queue;

    @Inject
    ReviewRecords records;

    @Inject
    ReviewDashboard dashboards;

    @Inject
    AuditQuery audit;

    @Inject
    ReviewConfig config;

    @Inject
    RetrainingViews retraining;

    @Inject
    InterventionRegistry registry;

    @Inject
    SignInLimiter limiter;

    /** No live session: the page answers with the sign-in form instead. */
    static final class SignInRequired extends RuntimeException {
        SignInRequired() {
            super(null, null, false, false);
        }
    }

    /** A POST without the right CSRF token. */
    static final class CsrfRefused extends RuntimeException {
        CsrfRefused() {
            super(null, null, false, false);
        }
    }

    /** A live session without the role a page needs. */
    static final class RoleMissing extends RuntimeException {
        final String role;

        RoleMissing(String role) {
            super(null, null, false, false);
            this.role = role;
        }
    }

    @GET
    @Operation(hidden = true)
    public Response queue(@CookieParam(SESSION_COOKIE) String token, @QueryParam("tenant") String tenant,
            @QueryParam("intervention") String intervention, @QueryParam("policy") String policy,
            @QueryParam("flagged") boolean flagged, @QueryParam("empty") boolean empty) {
        Session session = session(token);
        if (!session.roles().contains(Roles.REVIEWER)) {
            return see("/review/retraining"); // an operator's landing page
        }
        ReviewQueue.Filter filter = filter(tenant, intervention, policy, flagged);
        return page(Response.Status.OK, Templates.queue(session, queue.list(session, filter, QUEUE_PAGE), filter,
                dashboards.interventions(), dashboards.policies(), empty));
    }

    @GET
    @Path("/sign-in")
    @Operation(hidden = true)
    public Response signInForm(@CookieParam(SESSION_COOKIE) String token) {
        if (token != null && sessions.find(token).isPresent()) {
            return see("/review");
        }
        return signInPage(Response.Status.OK, null);
    }

    @POST
    @Path("/sign-in")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(hidden = true)
    public Response signIn(@FormParam("key") String key, @FormParam("formToken") String formToken,
            @CookieParam(SIGN_IN_COOKIE) String formCookie, @Context HttpServerRequest request) {
        if (formToken == null || formCookie == null || !MessageDigest.isEqual(formToken.getBytes(StandardCharsets.UTF_8),
                formCookie.getBytes(StandardCharsets.UTF_8))) {
            return signInPage(Response.Status.FORBIDDEN, "The sign-in form expired or did not come from this site. Try again.");
        }
        String address = request.remoteAddress() == null ? "unknown" : request.remoteAddress().hostAddress();
        Optional<Duration> wait = limiter.refusal(address);
        if (wait.isPresent()) {
            return Response.fromResponse(signInPage(Response.Status.TOO_MANY_REQUESTS, "Too many failed sign-ins. Try again in "
                    + wait.get().toSeconds() + " s.")).header("Retry-After", wait.get().toSeconds()).build();
        }
        Optional<ReviewSessions.Opened> opened = sessions.open(key, config.sessionLifetime());
        if (opened.isEmpty()) {
            limiter.failed(address);
            return signInPage(Response.Status.UNAUTHORIZED,
                    "Sign-in refused. Paste a valid, unexpired SteerGate API key that holds the reviewer or the operator role.");
        }
        limiter.succeeded(address);
        return Response.seeOther(URI.create("/review"))
                .cookie(cookie(SESSION_COOKIE, opened.get().token(), (int) config.sessionLifetime().toSeconds()),
                        cookie(SIGN_IN_COOKIE, "", 0))
                .build();
    }

    @POST
    @Path("/sign-out")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(hidden = true)
    public Response signOut(@CookieParam(SESSION_COOKIE) String token, @FormParam("csrf") String csrf) {
        Session session = session(token);
        requireCsrf(session, csrf);
        queue.releaseAll(session);
        sessions.end(token);
        return Response.seeOther(URI.create(SIGN_IN)).cookie(cookie(SESSION_COOKIE, "", 0)).build();
    }

    @GET
    @Path("/next")
    @Operation(hidden = true)
    public Response next(@CookieParam(SESSION_COOKIE) String token, @QueryParam("after") String after,
            @QueryParam("tenant") String tenant, @QueryParam("intervention") String intervention,
            @QueryParam("policy") String policy, @QueryParam("flagged") boolean flagged) {
        Session session = reviewer(token);
        ReviewQueue.Filter filter = filter(tenant, intervention, policy, flagged);
        String query = filter.query();
        return queue.next(session, filter, afterId(after))
                .map(id -> see("/review/records/" + id + (query.isEmpty() ? "" : "?" + query)))
                .orElseGet(() -> see("/review?empty=true" + (query.isEmpty() ? "" : "&" + query)));
    }

    /**
     * HEAD of {@link #next}: JAX-RS would run the GET, which claims a record and gives back the one the session held;
     * a link checker or a prefetch must not move a reviewer's claim. Answers the session check only.
     */
    @HEAD
    @Path("/next")
    @Operation(hidden = true)
    public Response peekNext(@CookieParam(SESSION_COOKIE) String token) {
        reviewer(token);
        return Response.ok().build();
    }

    @GET
    @Path("/records/{id}")
    @Operation(hidden = true)
    public TemplateInstance record(@CookieParam(SESSION_COOKIE) String token, @PathParam("id") long id,
            @QueryParam("tenant") String tenant, @QueryParam("intervention") String intervention,
            @QueryParam("policy") String policy, @QueryParam("flagged") boolean flagged) {
        Session session = reviewer(token);
        return Templates.record(session, records.view(session, id), filter(tenant, intervention, policy, flagged));
    }

    /** The verdict, through the audit API's own code (AuditQuery.review): same checks, same record, same metric. */
    @POST
    @Path("/records/{id}/verdict")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(hidden = true)
    public Response verdict(@CookieParam(SESSION_COOKIE) String token, @PathParam("id") long id,
            @FormParam("csrf") String csrf, @FormParam("verdict") String verdict, @FormParam("note") String note,
            @FormParam("tenant") String tenant, @FormParam("intervention") String intervention,
            @FormParam("policy") String policy, @FormParam("flagged") boolean flagged) {
        Session session = reviewer(token);
        requireCsrf(session, csrf);
        ReviewQueue.Filter filter = filter(tenant, intervention, policy, flagged);
        audit.review(id, new AuditViews.ReviewRequest(verdict, null, note == null || note.isBlank() ? null : note),
                session.reviewer(), session.tenantScope());
        queue.release(session, id);
        return seeNext(id, filter);
    }

    @POST
    @Path("/records/{id}/skip")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(hidden = true)
    public Response skip(@CookieParam(SESSION_COOKIE) String token, @PathParam("id") long id, @FormParam("csrf") String csrf,
            @FormParam("tenant") String tenant, @FormParam("intervention") String intervention,
            @FormParam("policy") String policy, @FormParam("flagged") boolean flagged) {
        Session session = reviewer(token);
        requireCsrf(session, csrf);
        ReviewQueue.Filter filter = filter(tenant, intervention, policy, flagged);
        queue.release(session, id);
        return seeNext(id, filter);
    }

    @GET
    @Path("/dashboard")
    @Operation(hidden = true)
    public TemplateInstance dashboard(@CookieParam(SESSION_COOKIE) String token, @QueryParam("intervention") String intervention) {
        Session session = session(token);
        String name = intervention == null || intervention.isEmpty() ? ReviewDashboard.ALL : checkedIntervention(intervention);
        return Templates.dashboard(session, dashboards.build(session, name),
                name.equals(ReviewDashboard.ALL) ? null : retraining.conceptChart(name));
    }

    @GET
    @Path("/retraining")
    @Operation(hidden = true)
    public TemplateInstance retraining(@CookieParam(SESSION_COOKIE) String token, @QueryParam("intervention") String intervention) {
        Session session = operator(token);
        String name = intervention == null || intervention.isEmpty() ? null : checkedIntervention(intervention);
        return Templates.retraining(session, retraining.list(name), name,
                registry.list().stream().map(InterventionRegistry.InterventionSummary::name).toList());
    }

    @GET
    @Path("/retraining/{id}")
    @Operation(hidden = true)
    public TemplateInstance job(@CookieParam(SESSION_COOKIE) String token, @PathParam("id") String id) {
        Session session = operator(token);
        return Templates.job(session, jobId(id).flatMap(retraining::job).orElseThrow(() -> new ApiError(404,
                ErrorCode.NOT_FOUND, "retraining job '" + id + "': not found")));
    }

    /**
     * An operator approves a trained candidate: the registry's promote, as POST /v1/interventions/{name}/versions/{v}/
     * promote (overrideGate for a version the gate REFUSED, recorded with the session's name).
     */
    @POST
    @Path("/retraining/{id}/approve")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(hidden = true)
    public Response approve(@CookieParam(SESSION_COOKIE) String token, @PathParam("id") String id,
            @FormParam("csrf") String csrf, @FormParam("overrideGate") boolean overrideGate) {
        Session session = operator(token);
        requireCsrf(session, csrf);
        RetrainingViews.Row job = candidate(id);
        registry.promote(job.intervention(), job.version(), overrideGate, session.reviewer());
        return see("/review/retraining/" + job.id());
    }

    /** An operator rejects a trained candidate: the registry's retire, as POST .../versions/{v}/retire. */
    @POST
    @Path("/retraining/{id}/reject")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(hidden = true)
    public Response reject(@CookieParam(SESSION_COOKIE) String token, @PathParam("id") String id,
            @FormParam("csrf") String csrf) {
        Session session = operator(token);
        requireCsrf(session, csrf);
        RetrainingViews.Row job = candidate(id);
        registry.retire(job.intervention(), job.version());
        return see("/review/retraining/" + job.id());
    }

    @ServerExceptionMapper
    public Response signInRequired(SignInRequired e) {
        return see(SIGN_IN);
    }

    @ServerExceptionMapper
    public Response roleMissing(RoleMissing e) {
        return page(Response.Status.FORBIDDEN, Templates.problem("Refused",
                "This page needs the " + e.role + " role, which the key you signed in with does not hold."));
    }

    @ServerExceptionMapper
    public Response csrfRefused(CsrfRefused e) {
        return page(Response.Status.FORBIDDEN, Templates.problem("Refused",
                "This form expired or did not come from this site. Go back, reload the page and try again."));
    }

    /** The audit API's refusals (a bad verdict, a record of another tenant) as a page. */
    @ServerExceptionMapper
    public Response refused(ApiError e) {
        return page(Response.Status.fromStatusCode(e.status()), Templates.problem(
                e.status() == 404 ? "Not found" : "Refused", e.error().message()));
    }

    /** The record id the queue continues after (0: from its start); a String, so that a bad one is a 400, not a 404. */
    private static long afterId(String after) {
        if (after == null || after.isEmpty()) {
            return 0;
        }
        try {
            long id = Long.parseLong(after);
            if (id >= 0) {
                return id;
            }
        } catch (NumberFormatException e) {
            // answered below, like a negative id
        }
        throw ApiError.badField("after", "must be a record id (a whole number, 0 or more)");
    }

    private Session session(String token) {
        return sessions.find(token).orElseThrow(SignInRequired::new);
    }

    private Session reviewer(String token) {
        return withRole(session(token), Roles.REVIEWER);
    }

    private Session operator(String token) {
        return withRole(session(token), Roles.OPERATOR);
    }

    private static Session withRole(Session session, String role) {
        if (!session.roles().contains(role)) {
            throw new RoleMissing(role);
        }
        return session;
    }

    /** The job whose version an operator decides on: it must have trained a candidate that is still one. */
    private RetrainingViews.Row candidate(String id) {
        RetrainingViews.Job job = jobId(id).flatMap(retraining::job).orElseThrow(() -> new ApiError(404,
                ErrorCode.NOT_FOUND, "retraining job '" + id + "': not found"));
        if (!job.row().awaitsApproval()) {
            throw new ApiError(409, ErrorCode.CONFLICT, "retraining job " + id + ": "
                    + (job.row().version() == null ? "it has no trained version"
                            : "version " + job.row().version() + " is " + job.row().versionStatus() + ", not a candidate"));
        }
        return job.row();
    }

    private static Optional<UUID> jobId(String id) {
        try {
            return Optional.of(UUID.fromString(id));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static Response seeNext(long after, ReviewQueue.Filter filter) {
        String query = filter.query();
        return see("/review/next?after=" + after + (query.isEmpty() ? "" : "&" + query));
    }

    private static void requireCsrf(Session session, String csrf) {
        if (!ReviewSessions.csrfMatches(session, csrf)) {
            throw new CsrfRefused();
        }
    }

    private Response signInPage(Response.Status status, String message) {
        String formToken = ReviewSessions.randomToken();
        return Response.status(status).type(MediaType.TEXT_HTML_TYPE)
                .entity(Templates.signIn(message, formToken).render())
                .cookie(cookie(SIGN_IN_COOKIE, formToken, -1)).build();
    }

    private NewCookie cookie(String name, String value, int maxAge) {
        return new NewCookie.Builder(name).value(value).path(COOKIE_PATH).maxAge(maxAge).httpOnly(true)
                .secure(config.secureCookie()).sameSite(NewCookie.SameSite.STRICT).build();
    }

    private static Response see(String location) {
        return Response.seeOther(URI.create(location)).build();
    }

    private static Response page(Response.Status status, TemplateInstance page) {
        return Response.status(status).type(MediaType.TEXT_HTML_TYPE).entity(page.render()).build();
    }

    private static ReviewQueue.Filter filter(String tenant, String intervention, String policy, boolean flagged) {
        String t = tenant == null || tenant.isEmpty() ? null : tenant;
        if (t != null && !Identifiers.TENANT.matcher(t).matches()) {
            throw ApiError.badField("tenant", "must be 1-64 characters of [a-z0-9-]");
        }
        String i = intervention == null || intervention.isEmpty() ? null : checkedIntervention(intervention);
        String p = policy == null || policy.isEmpty() ? null : policy;
        if (p != null && !Identifiers.NAME.matcher(p).matches()) {
            throw ApiError.badField("policy", "must be a policy id: 1-64 characters of [a-z0-9-]");
        }
        return new ReviewQueue.Filter(t, i, p, flagged);
    }

    private static String checkedIntervention(String name) {
        if (!Identifiers.NAME.matcher(name).matches()) {
            throw ApiError.badField("intervention", "must be an intervention name: 1-64 characters of [a-z0-9-]");
        }
        return name;
    }
}
