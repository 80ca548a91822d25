package io.steergate.testing;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import io.steergate.review.ReviewResource;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The review UI's pages as the @QuarkusTests drive them over HTTP: sign-in, the session cookie, CSRF tokens. */
public final class ReviewPages {

    public static final String FORM = "application/x-www-form-urlencoded";
    public static final Pattern RECORD = Pattern.compile("/review/records/(\\d+)(?:\\?[^/]*)?$");
    private static final Pattern CSRF = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"");

    private ReviewPages() {}

    /**
     * A page request that does not follow redirects, with the session cookie when given. The tests' default bearer
     * credential rides along (DefaultCredential): the pages must not count it.
     */
    public static RequestSpecification page(String session) {
        RequestSpecification request = given().redirects().follow(false);
        return session == null ? request : request.cookie(ReviewResource.SESSION_COOKIE, session);
    }

    /** The sign-in form posted with {@code key} and the form's own token, as a browser would. */
    public static Response postSignIn(String key) {
        Response form = page(null).get(ReviewResource.SIGN_IN);
        assertEquals(200, form.statusCode());
        String formToken = form.getCookie(ReviewResource.SIGN_IN_COOKIE);
        return page(null).cookie(ReviewResource.SIGN_IN_COOKIE, formToken).contentType(FORM)
                .formParam("key", key).formParam("formToken", formToken).post(ReviewResource.SIGN_IN);
    }

    /** Signs in; the session cookie's value. */
    public static String signIn(String key) {
        Response signedIn = postSignIn(key);
        assertEquals(303, signedIn.statusCode(), signedIn.asString());
        String session = signedIn.getCookie(ReviewResource.SESSION_COOKIE);
        assertNotNull(session);
        return session;
    }

    /** The CSRF token of a page's forms. */
    public static String csrf(String html) {
        Matcher csrf = CSRF.matcher(html);
        assertTrue(csrf.find(), html);
        return csrf.group(1);
    }

    /** The record /review/next hands this session, or -1 when its queue is empty. */
    public static long next(String session) {
        return recordOf(page(session).get("/review/next"));
    }

    /** The record a redirect of /review/next points to, or -1 for the queue page (nothing left). */
    public static long recordOf(Response next) {
        assertEquals(303, next.statusCode(), next.asString());
        Matcher record = RECORD.matcher(next.getHeader("Location"));
        return record.find() ? Long.parseLong(record.group(1)) : -1;
    }

    /** A completed generation of {@code tenant} through POST /v1/generations; its audit record's id. */
    public static long generate(String tenant, String extraFields) {
        String id = "review-" + UUID.randomUUID();
        given().contentType("application/json").body("{\"id\":\"" + id + "\",\"tenant\":\"" + tenant
                        + "\",\"prompt\":\"Lily looked out of the window and felt\",\"maxTokens\":12,\"seed\":4" + extraFields + "}")
                .post("/v1/generations").then().statusCode(200);
        JsonPath page = given().queryParam("tenant", tenant).queryParam("limit", "50").get("/v1/audit").then().statusCode(200)
                .extract().jsonPath();
        return page.getLong("items.find { it.requestId == '" + id + "' }.id");
    }
}
