package io.steergate.app;

import io.steergate.messages.ApiError;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * Refuses a request whose path or query holds U+0000 (%00), before any endpoint reads it: PostgreSQL text cannot hold
 * the character, so an identifier or filter carrying it failed as a 500 with a stack trace wherever it reached a
 * query. One check for every path and query parameter; the fields of a body are checked where they are read, with the
 * same {@link ApiError#textField}.
 */
public class NulGuard {

    private static final Logger LOG = Logger.getLogger(NulGuard.class);

    @ServerRequestFilter(preMatching = true)
    public Optional<Response> refuseNul(ContainerRequestContext request) {
        try {
            ApiError.textField("path", request.getUriInfo().getPath());
            for (Map.Entry<String, List<String>> parameter : request.getUriInfo().getQueryParameters().entrySet()) {
                String name = ApiError.textField("query", parameter.getKey());
                parameter.getValue().forEach(value -> ApiError.textField(name, value));
            }
            return Optional.empty();
        } catch (ApiError refused) {
            LOG.infof("HTTP request refused: %s %s", refused.error().code(), refused.error().message());
            return Optional.of(Response.status(refused.status()).entity(refused.error()).type(MediaType.APPLICATION_JSON).build());
        }
    }
}
