package io.steergate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Which limit applies to a tenant: its own value, else the default's, else none (0); 0 and below are unlimited. */
class QuotasTest {

    static QuotaConfig.Limits limits(OptionalLong requests, OptionalLong tokens) {
        return new QuotaConfig.Limits() {
            @Override
            public OptionalLong requestsPerMinute() {
                return requests;
            }

            @Override
            public OptionalLong tokensPerDay() {
                return tokens;
            }
        };
    }

    static Quotas quotas(QuotaConfig.Limits defaults, Map<String, QuotaConfig.Limits> tenants) {
        Quotas quotas = new Quotas();
        quotas.config = new QuotaConfig() {
            @Override
            public QuotaConfig.Limits defaults() {
                return defaults;
            }

            @Override
            public Map<String, QuotaConfig.Limits> tenants() {
                return tenants;
            }
        };
        return quotas;
    }

    @Test
    void nothingConfiguredIsUnlimited() {
        Quotas quotas = quotas(limits(OptionalLong.empty(), OptionalLong.empty()), Map.of());
        assertEquals(0, quotas.limit("acme", Quotas.Kind.REQUESTS));
        assertEquals(0, quotas.limit("acme", Quotas.Kind.TOKENS));
    }

    @Test
    void aTenantsOwnValueWinsAndWhatItLeavesOutComesFromTheDefault() {
        Quotas quotas = quotas(limits(OptionalLong.of(100), OptionalLong.of(5000)),
                Map.of("kids-co", limits(OptionalLong.of(10), OptionalLong.empty()), "acme", limits(OptionalLong.of(0), OptionalLong.empty())));
        assertEquals(10, quotas.limit("kids-co", Quotas.Kind.REQUESTS));
        assertEquals(5000, quotas.limit("kids-co", Quotas.Kind.TOKENS));
        assertEquals(100, quotas.limit("story-app", Quotas.Kind.REQUESTS));
        assertEquals(0, quotas.limit("acme", Quotas.Kind.REQUESTS), "0 for one tenant lifts the default");
    }

    @Test
    void aNegativeLimitIsUnlimited() {
        Quotas quotas = quotas(limits(OptionalLong.of(-1), OptionalLong.empty()), Map.of());
        assertEquals(0, quotas.limit("acme", Quotas.Kind.REQUESTS));
    }
}
