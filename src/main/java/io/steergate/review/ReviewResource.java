package io.steergate.review;

import io.quarkus.qute.CheckedTemplate;
import io.quarkus.qute.TemplateInstance;
import io.smallrye.common.annotation.Blocking;
import io.steergate.audit.AuditQuery;
import io.steergate.audit.AuditViews;
import io.steergate.messages.ApiError;
import io.steergate.messages.Identifiers;
import io.steergate.security.ReviewSessions;
import io.steergate.security.ReviewSessions.Session;
import jakarta.annotation.security.PermitAll;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.CookieParam;
import jakarta.ws.rs.FormParam;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.NewCookie;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * The reviewers' web UI under /review: sign-in with an API key, the queue, one record with its verdict form, the
 * dashboard. Its credential is the session cookie (HttpOnly, SameSite=Strict; {@link ReviewSessions}), which every
 * page but the sign-in form resolves first: without a live session a page redirects to the sign-in form. So the
 * methods are {@link PermitAll} for Quarkus' bearer mechanisms, which never authenticate a page, and the cookie never
 * authenticates the API under /v1. Every POST carries the session's CSRF token (a hidden field) besides SameSite.
 * The pages are HTML, not API: they are left out of the OpenAPI document.
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
                List<String> interventions, boolean empty);

        static native TemplateInstance record(Session session, ReviewRecords.View view);

        static native TemplateInstance dashboard(Session session, ReviewDashboard.Dashboard dashboard);

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

    @GET
    @Operation(hidden = true)
    public TemplateInstance queue(@CookieParam(SESSION_COOKIE) String token, @QueryParam("tenant") String tenant,
            @QueryParam("intervention") String intervention, @QueryParam("empty") boolean empty) {
        Session session = session(token);
        ReviewQueue.Filter filter = filter(tenant, intervention);
        return Templates.queue(session, queue.list(session, filter, QUEUE_PAGE), filter, dashboards.interventions(), empty);
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
            @CookieParam(SIGN_IN_COOKIE) String formCookie) {
        if (formToken == null || formCookie == null || !MessageDigest.isEqual(formToken.getBytes(StandardCharsets.UTF_8),
                formCookie.getBytes(StandardCharsets.UTF_8))) {
            return signInPage(Response.Status.FORBIDDEN, "The sign-in form expired or did not come from this site. Try again.");
        }
        return sessions.open(key, config.sessionLifetime())
                .map(opened -> Response.seeOther(URI.create("/review"))
                        .cookie(cookie(SESSION_COOKIE, opened.token(), (int) config.sessionLifetime().toSeconds()),
                                cookie(SIGN_IN_COOKIE, "", 0))
                        .build())
                .orElseGet(() -> signInPage(Response.Status.UNAUTHORIZED,
                        "Sign-in refused. Paste a valid, unexpired SteerGate API key that holds the reviewer role."));
    }

    @POST
    @Path("/sign-out")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(hidden = true)
    public Response signOut(@CookieParam(SESSION_COOKIE) String token, @FormParam("csrf") String csrf) {
        requireCsrf(session(token), csrf);
        sessions.end(token);
        return Response.seeOther(URI.create(SIGN_IN)).cookie(cookie(SESSION_COOKIE, "", 0)).build();
    }

    @GET
    @Path("/next")
    @Operation(hidden = true)
    public Response next(@CookieParam(SESSION_COOKIE) String token, @QueryParam("after") Long after,
            @QueryParam("tenant") String tenant, @QueryParam("intervention") String intervention) {
        Session session = session(token);
        ReviewQueue.Filter filter = filter(tenant, intervention);
        return queue.next(session, filter, after == null ? 0 : after)
                .map(id -> see("/review/records/" + id))
                .orElseGet(() -> see("/review?empty=true"));
    }

    @GET
    @Path("/records/{id}")
    @Operation(hidden = true)
    public TemplateInstance record(@CookieParam(SESSION_COOKIE) String token, @PathParam("id") long id) {
        Session session = session(token);
        return Templates.record(session, records.view(session, id));
    }

    /** The verdict, through the audit API's own code (AuditQuery.review): same checks, same record, same metric. */
    @POST
    @Path("/records/{id}/verdict")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(hidden = true)
    public Response verdict(@CookieParam(SESSION_COOKIE) String token, @PathParam("id") long id,
            @FormParam("csrf") String csrf, @FormParam("verdict") String verdict, @FormParam("note") String note) {
        Session session = session(token);
        requireCsrf(session, csrf);
        audit.review(id, new AuditViews.ReviewRequest(verdict, null, note == null || note.isBlank() ? null : note),
                session.reviewer(), session.tenantScope());
        queue.release(session, id);
        return see("/review/next?after=" + id);
    }

    @POST
    @Path("/records/{id}/skip")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Operation(hidden = true)
    public Response skip(@CookieParam(SESSION_COOKIE) String token, @PathParam("id") long id, @FormParam("csrf") String csrf) {
        Session session = session(token);
        requireCsrf(session, csrf);
        queue.release(session, id);
        return see("/review/next?after=" + id);
    }

    @GET
    @Path("/dashboard")
    @Operation(hidden = true)
    public TemplateInstance dashboard(@CookieParam(SESSION_COOKIE) String token, @QueryParam("intervention") String intervention) {
        Session session = session(token);
        String name = intervention == null || intervention.isEmpty() ? ReviewDashboard.ALL : checkedIntervention(intervention);
        return Templates.dashboard(session, dashboards.build(session, name));
    }

    @ServerExceptionMapper
    public Response signInRequired(SignInRequired e) {
        return see(SIGN_IN);
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

    private Session session(String token) {
        return sessions.find(token).orElseThrow(SignInRequired::new);
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

    private static ReviewQueue.Filter filter(String tenant, String intervention) {
        String t = tenant == null || tenant.isEmpty() ? null : tenant;
        if (t != null && !Identifiers.TENANT.matcher(t).matches()) {
            throw ApiError.badField("tenant", "must be 1-64 characters of [a-z0-9-]");
        }
        String i = intervention == null || intervention.isEmpty() ? null : checkedIntervention(intervention);
        return new ReviewQueue.Filter(t, i);
    }

    private static String checkedIntervention(String name) {
        if (!Identifiers.NAME.matcher(name).matches()) {
            throw ApiError.badField("intervention", "must be an intervention name: 1-64 characters of [a-z0-9-]");
        }
        return name;
    }
}
