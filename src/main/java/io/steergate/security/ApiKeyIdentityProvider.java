package io.steergate.security;

import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.identity.AuthenticationRequestContext;
import io.quarkus.security.identity.IdentityProvider;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.runtime.QuarkusPrincipal;
import io.quarkus.security.runtime.QuarkusSecurityIdentity;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import jakarta.inject.Inject;
import java.util.Optional;

/** Turns a presented API key into an identity: principal {@code key:<id>}, the key's roles and tenants. */
@ApplicationScoped
public class ApiKeyIdentityProvider implements IdentityProvider<ApiKeyCredential> {

    @Inject
    ApiKeys keys;

    @Override
    public Class<ApiKeyCredential> getRequestType() {
        return ApiKeyCredential.class;
    }

    @Override
    public Uni<SecurityIdentity> authenticate(ApiKeyCredential request, AuthenticationRequestContext context) {
        return context.runBlocking(() -> {
            ApiKeys.Verified key = verify(request.key())
                    .orElseThrow(() -> new AuthenticationFailedException("unknown, expired or revoked API key"));
            return QuarkusSecurityIdentity.builder()
                    .setPrincipal(new QuarkusPrincipal(Caller.KEY_PRINCIPAL_PREFIX + key.id()))
                    .addRoles(Roles.known(key.roles()))
                    .addAttribute(Caller.TENANTS_ATTRIBUTE, key.tenants())
                    .build();
        });
    }

    /** A database outage is 503 with Retry-After (app/ErrorMapper), never 401: the key may well be valid. */
    private Optional<ApiKeys.Verified> verify(String key) {
        try {
            return keys.verify(key);
        } catch (RuntimeException e) {
            if (Failures.isTransient(e)) {
                throw new Retry.Unavailable("verifying an API key", e);
            }
            throw e;
        }
    }
}
