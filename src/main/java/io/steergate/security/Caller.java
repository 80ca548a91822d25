package io.steergate.security;

import io.quarkus.security.identity.SecurityIdentity;
import io.steergate.messages.ApiError;
import io.steergate.messages.ErrorCode;
import jakarta.enterprise.context.RequestScoped;
import jakarta.inject.Inject;
import java.util.Optional;
import java.util.Set;
import org.eclipse.microprofile.jwt.JsonWebToken;

/**
 * Who is calling, as the credential says: a name for createdBy and reviewer fields, and the tenants the caller may act
 * for. An operator, or a credential whose tenants are {@code *}, acts for every tenant.
 */
@RequestScoped
public class Caller {

    static final String TENANTS_ATTRIBUTE = "steergate.tenants";
    static final String KEY_PRINCIPAL_PREFIX = "key:";

    @Inject
    SecurityIdentity identity;

    /** {@code key:<id>} for an API key, {@code jwt:<name>} for a token; recorded as createdBy, reviewer, requestedBy. */
    public String name() {
        if (identity.getPrincipal() instanceof JsonWebToken token) {
            return "jwt:" + token.getName();
        }
        return identity.getPrincipal().getName();
    }

    /** Whether the caller acts for every tenant. */
    private boolean allTenants() {
        return identity.hasRole(Roles.OPERATOR) || tenants().contains(Roles.ALL_TENANTS);
    }

    /** The tenants a read is limited to; empty when the caller acts for every tenant. */
    public Optional<Set<String>> tenantScope() {
        return allTenants() ? Optional.empty() : Optional.of(tenants());
    }

    public boolean holds(String tenant) {
        return tenant != null && (allTenants() || tenants().contains(tenant));
    }

    /** The caller's one tenant, when it holds exactly one and not all: what a request without a tenant is for. */
    public Optional<String> onlyTenant() {
        Set<String> tenants = tenants();
        return !allTenants() && tenants.size() == 1 ? Optional.of(tenants.iterator().next()) : Optional.empty();
    }

    /**
     * Refuses a tenant named in a body that the credential does not hold.
     *
     * @throws ApiError 403 TENANT_MISMATCH
     */
    public void requireTenant(String tenant) {
        if (!holds(tenant)) {
            throw new ApiError(403, ErrorCode.TENANT_MISMATCH,
                    "tenant: the credential is not for tenant '" + tenant + "'; the tenant of a request is the credential's");
        }
    }

    @SuppressWarnings("unchecked")
    private Set<String> tenants() {
        Object tenants = identity.getAttribute(TENANTS_ATTRIBUTE);
        return tenants instanceof Set<?> set ? (Set<String>) set : Set.of();
    }
}
