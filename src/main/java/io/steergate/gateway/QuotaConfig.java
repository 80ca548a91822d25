package io.steergate.gateway;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithName;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Per-tenant quotas (application.properties, section "Quotas"): {@code steergate.quotas.default.*} for every tenant,
 * {@code steergate.quotas.tenants.<tenant>.*} for one (each value it leaves out comes from the default). Absent or 0
 * is unlimited, which is the default: benchmarks and the fault suites send thousands of requests a minute for one tenant.
 */
@ConfigMapping(prefix = "steergate.quotas")
public interface QuotaConfig {

    @WithName("default")
    Limits defaults();

    /** Overrides by tenant name; these names are also the values of the quota metrics' tenant label. */
    Map<String, Limits> tenants();

    interface Limits {

        /** Requests accepted per UTC minute (duplicates of an accepted id are not counted). */
        OptionalLong requestsPerMinute();

        /** Completion tokens of COMPLETED results per UTC day; checked at acceptance, charged at completion. */
        OptionalLong tokensPerDay();
    }
}
