package io.steergate.testing;

import io.quarkus.runtime.StartupEvent;
import io.restassured.RestAssured;
import io.restassured.filter.Filter;
import io.restassured.http.Header;
import io.steergate.security.ApiKeys;
import io.steergate.security.Roles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.List;

/**
 * The one place the @QuarkusTests get their credential: at start the test application issues a key with every role
 * for every tenant, and every RestAssured request without an Authorization header carries it. A test sends its own
 * header to act as someone else, or {@link #NONE} to send no credential at all.
 */
@ApplicationScoped
public class DefaultCredential {

    /** {@code header("Authorization", DefaultCredential.NONE)}: the request goes without an Authorization header. */
    public static final String NONE = "none";

    @Inject
    ApiKeys keys;

    void start(@Observes StartupEvent event) {
        String key = keys.issue(List.of(Roles.ALL_TENANTS), Roles.ALL, "tests' default credential", null, "tests").key();
        Filter credential = (request, response, next) -> {
            Header sent = request.getHeaders().get("Authorization");
            if (sent == null) {
                request.header("Authorization", "Bearer " + key);
            } else if (NONE.equals(sent.getValue())) {
                request.removeHeader("Authorization");
            }
            return next.next(request, response);
        };
        RestAssured.filters(credential);
    }
}
