package io.steergate.security;

import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.identity.AuthenticationRequestContext;
import io.quarkus.security.identity.IdentityProvider;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.runtime.QuarkusPrincipal;
import io.quarkus.security.runtime.QuarkusSecurityIdentity;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

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
            ApiKeys.Verified key = keys.verify(request.key())
                    .orElseThrow(() -> new AuthenticationFailedException("unknown, expired or revoked API key"));
            return QuarkusSecurityIdentity.builder()
                    .setPrincipal(new QuarkusPrincipal(Caller.KEY_PRINCIPAL_PREFIX + key.id()))
                    .addRoles(Roles.known(key.roles()))
                    .addAttribute(Caller.TENANTS_ATTRIBUTE, key.tenants())
                    .build();
        });
    }
}
