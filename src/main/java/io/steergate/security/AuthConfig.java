package io.steergate.security;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** steergate.auth.*: credentials of the HTTP API (README "Authentication"). */
@ConfigMapping(prefix = "steergate.auth")
public interface AuthConfig {

    /**
     * Where the first start writes an operator key and a client key per {@link #bootstrapTenants() tenant}, each in its
     * own file readable by the owner only. Unset: no keys are created (issue the first one with another credential).
     */
    Optional<Path> bootstrapDir();

    /** The tenants that get a client key at bootstrap. */
    @WithDefault("acme,kids-co,story-app")
    List<String> bootstrapTenants();

    /** Lifetime of a key issued over HTTP without expiresAt or expiresIn. */
    @WithDefault("P90D")
    Duration keyLifetime();

    Jwt jwt();

    interface Jwt {
        /** The claim holding the token's tenant (a string) or tenants (an array); "*" grants every tenant. */
        @WithDefault("tenant")
        String tenantClaim();

        /** The claim holding the token's roles (client, reviewer, auditor, operator); others are ignored. */
        @WithDefault("groups")
        String rolesClaim();
    }
}
