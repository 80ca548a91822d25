package io.steergate.security;

import io.quarkus.security.identity.AuthenticationRequestContext;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.identity.SecurityIdentityAugmentor;
import io.quarkus.security.runtime.QuarkusSecurityIdentity;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.json.JsonArray;
import jakarta.json.JsonString;
import jakarta.json.JsonValue;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;
import org.eclipse.microprofile.jwt.JsonWebToken;

/**
 * Maps a verified OIDC/JWT access token (checked by smallrye-jwt against mp.jwt.verify.*) to SteerGate's identity: its
 * roles and tenants come from the claims named by steergate.auth.jwt.roles-claim and tenant-claim (a string or an
 * array). Roles SteerGate does not know are dropped, so an identity provider's other groups grant nothing here.
 */
@ApplicationScoped
public class JwtClaims implements SecurityIdentityAugmentor {

    @Inject
    AuthConfig config;

    @Override
    public Uni<SecurityIdentity> augment(SecurityIdentity identity, AuthenticationRequestContext context) {
        if (identity.isAnonymous() || !(identity.getPrincipal() instanceof JsonWebToken)) {
            return Uni.createFrom().item(identity);
        }
        JsonWebToken token = (JsonWebToken) identity.getPrincipal();
        Set<String> roles = Roles.known(strings(token.getClaim(config.jwt().rolesClaim())));
        Set<String> tenants = strings(token.getClaim(config.jwt().tenantClaim()));
        QuarkusSecurityIdentity.Builder mapped = QuarkusSecurityIdentity.builder()
                .setPrincipal(token)
                .addCredentials(identity.getCredentials())
                .addRoles(roles)
                .addAttribute(Caller.TENANTS_ATTRIBUTE, Set.copyOf(tenants));
        identity.getAttributes().forEach((name, value) -> {
            if (!Caller.TENANTS_ATTRIBUTE.equals(name)) {
                mapped.addAttribute(name, value);
            }
        });
        return Uni.createFrom().item(mapped.build());
    }

    /** A claim's values: a string, a JSON string, or an array or collection of them; anything else is none. */
    static Set<String> strings(Object claim) {
        Set<String> values = new LinkedHashSet<>();
        if (claim instanceof String text) {
            values.add(text);
        } else if (claim instanceof JsonString text) {
            values.add(text.getString());
        } else if (claim instanceof JsonArray array) {
            for (JsonValue item : array) {
                if (item instanceof JsonString text) {
                    values.add(text.getString());
                }
            }
        } else if (claim instanceof Collection<?> items) {
            for (Object item : items) {
                values.addAll(strings(item));
            }
        }
        return values;
    }
}
