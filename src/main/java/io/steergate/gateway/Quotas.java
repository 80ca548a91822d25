package io.steergate.gateway;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.steergate.messages.ErrorCode;
import io.steergate.messages.ErrorInfo;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.transaction.Transactional;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * Per-tenant quotas ({@link QuotaConfig}) counted in PostgreSQL (table quota_usage), so every gateway process shares
 * one count. Both calls join the caller's transaction: a request's charge commits with its acceptance and a result's
 * tokens with its completion, or neither does.
 */
@ApplicationScoped
public class Quotas {

    /** When a client refused for tokens reserved in flight is asked back: a guess at how soon one of them ends. */
    private static final Duration RESERVED_RETRY = Duration.ofSeconds(5);

    /** The metric label of a tenant without its own quota configuration. */
    private static final String OTHER = "other";

    /** What a quota counts, its window and how a message names it. */
    public enum Kind {
        REQUESTS("requests", ChronoUnit.MINUTES, " requests per minute"),
        TOKENS("tokens", ChronoUnit.DAYS, " completion tokens per day");

        final String column;
        final ChronoUnit window;
        final String unit;

        Kind(String column, ChronoUnit window, String unit) {
            this.column = column;
            this.window = window;
            this.unit = unit;
        }

        Instant windowStart(Instant now) {
            return now.truncatedTo(window);
        }
    }

    /** A refusal: the error for the client and the whole seconds until the quota's window ends. */
    public record Exceeded(Kind kind, ErrorInfo error, long retryAfterSeconds) {}

    /** The last count this process saw per configured tenant and kind, for the used-fraction gauge. */
    private record Seen(Instant windowStart, long used, long limit) {}

    private final Map<String, AtomicReference<Seen>> seen = new ConcurrentHashMap<>();

    @Inject
    QuotaConfig config;

    @Inject
    EntityManager entities;

    @Inject
    MeterRegistry metrics;

    /**
     * Decides whether {@code tenant} may have one more request accepted now and, if so, charges it. Refused when the
     * day's completion tokens have reached their quota, or when the minute's requests have; a refused request is not
     * charged.
     */
    @Transactional(Transactional.TxType.MANDATORY)
    public Optional<Exceeded> admit(String tenant) {
        Instant now = Instant.now();
        long tokenLimit = limit(tenant, Kind.TOKENS);
        if (tokenLimit > 0) {
            // Tokens are charged when results arrive, so counting those alone admitted every request sent together
            // before the first completed (500 of 512 tokens against 1,000 a day). The tenant's requests in flight
            // count with their budgets, and its admissions take turns (a lock held to the accepting commit, which
            // stores the new PENDING row the next admission counts): only the request that crosses the quota passes it.
            entities.createNativeQuery("select count(*) from (select pg_advisory_xact_lock(hashtext(:key))) taken")
                    .setParameter("key", "steergate.quota.tokens/" + tenant).getSingleResult();
            List<?> rows = entities.createNativeQuery("select used from quota_usage where tenant = :tenant and kind = 'tokens'"
                            + " and window_start = :window")
                    .setParameter("tenant", tenant).setParameter("window", utc(Kind.TOKENS.windowStart(now))).getResultList();
            long used = rows.isEmpty() ? 0 : ((Number) rows.get(0)).longValue();
            observe(tenant, Kind.TOKENS, now, used, tokenLimit);
            if (used >= tokenLimit) {
                return Optional.of(exceeded(tenant, Kind.TOKENS, tokenLimit, now));
            }
            if (used + inFlightBudget(tenant) >= tokenLimit) {
                return Optional.of(reserved(tenant, tokenLimit - used, tokenLimit, now));
            }
        }
        long requestLimit = limit(tenant, Kind.REQUESTS);
        if (requestLimit > 0) {
            // one statement takes the count and charges it, so two gateways cannot both admit the last request
            List<?> rows = entities.createNativeQuery("""
                            insert into quota_usage (tenant, kind, window_start, used) values (:tenant, 'requests', :window, 1)
                            on conflict (tenant, kind, window_start) do update set used = quota_usage.used + 1
                            where quota_usage.used < :limit
                            returning used""")
                    .setParameter("tenant", tenant).setParameter("window", utc(Kind.REQUESTS.windowStart(now)))
                    .setParameter("limit", requestLimit).getResultList();
            if (rows.isEmpty()) {
                observe(tenant, Kind.REQUESTS, now, requestLimit, requestLimit);
                return Optional.of(exceeded(tenant, Kind.REQUESTS, requestLimit, now));
            }
            long used = ((Number) rows.get(0)).longValue();
            observe(tenant, Kind.REQUESTS, now, used, requestLimit);
            if (used == 1) {
                forgetPastWindows(tenant, Kind.REQUESTS, now);
            }
        }
        return Optional.empty();
    }

    /**
     * The completion tokens the tenant's PENDING requests may still be charged: each job's maxTokens, twice with a
     * counterfactual row. An escalating request's later rungs are not foreseen, and a rung already charged counts
     * again here until the request ends: an over-estimate, never an under-one, of its first attempt.
     */
    private long inFlightBudget(String tenant) {
        return ((Number) entities.createNativeQuery("""
                        select coalesce(sum(cast(j ->> 'maxTokens' as bigint)
                                            * case when j ->> 'counterfactual' = 'true' then 2 else 1 end), 0)
                        from (select cast(job_json as jsonb) as j from generations
                              where tenant = :tenant and status = 'PENDING' and job_json is not null) pending""")
                .setParameter("tenant", tenant).getSingleResult()).longValue();
    }

    /** Adds an attempt's completion tokens to its tenant's day (nothing when the tenant has no token quota). */
    @Transactional(Transactional.TxType.MANDATORY)
    public void chargeTokens(String tenant, long completionTokens) {
        long limit = limit(tenant, Kind.TOKENS);
        if (limit <= 0 || completionTokens <= 0) {
            return;
        }
        Instant now = Instant.now();
        long used = ((Number) entities.createNativeQuery("""
                        insert into quota_usage (tenant, kind, window_start, used) values (:tenant, 'tokens', :window, :tokens)
                        on conflict (tenant, kind, window_start) do update set used = quota_usage.used + excluded.used
                        returning used""")
                .setParameter("tenant", tenant).setParameter("window", utc(Kind.TOKENS.windowStart(now)))
                .setParameter("tokens", completionTokens).getSingleResult()).longValue();
        observe(tenant, Kind.TOKENS, now, used, limit);
        if (used == completionTokens) {
            forgetPastWindows(tenant, Kind.TOKENS, now);
        }
    }

    /** The tenant's quota of this kind; 0 when unlimited. */
    public long limit(String tenant, Kind kind) {
        Function<QuotaConfig.Limits, OptionalLong> value = kind == Kind.REQUESTS
                ? QuotaConfig.Limits::requestsPerMinute
                : QuotaConfig.Limits::tokensPerDay;
        QuotaConfig.Limits own = config.tenants().get(tenant);
        OptionalLong configured = own != null && value.apply(own).isPresent() ? value.apply(own) : value.apply(config.defaults());
        return Math.max(0, configured.orElse(0));
    }

    private Exceeded exceeded(String tenant, Kind kind, long limit, Instant now) {
        long retryAfter = secondsLeft(kind, now);
        metrics.counter("steergate.quota.exceeded", "tenant", label(tenant), "kind", kind.column).increment();
        // the client learns its limit and when the window ends, not how the operator configured it
        return new Exceeded(kind, ErrorInfo.of(ErrorCode.QUOTA_EXCEEDED, "tenant " + tenant + " has used its quota of " + limit
                + kind.unit + "; the window ends in " + retryAfter + " s"), retryAfter);
    }

    /**
     * A refusal because the day's tokens left are all reserved by budgets in flight: those requests end within seconds
     * and often use less than their maxTokens, so the client is asked back after {@link #RESERVED_RETRY}, not at the
     * day's end (nor after the window's end, should that come first).
     */
    private Exceeded reserved(String tenant, long left, long limit, Instant now) {
        long retryAfter = Math.min(RESERVED_RETRY.toSeconds(), secondsLeft(Kind.TOKENS, now));
        metrics.counter("steergate.quota.exceeded", "tenant", label(tenant), "kind", Kind.TOKENS.column).increment();
        return new Exceeded(Kind.TOKENS, ErrorInfo.of(ErrorCode.QUOTA_EXCEEDED, "tenant " + tenant + " has " + left + " of its quota of "
                + limit + Kind.TOKENS.unit + " left, all reserved by its requests in flight; retry in " + retryAfter + " s"), retryAfter);
    }

    /** Whole seconds until the window of {@code kind} ends, at least 1. */
    private static long secondsLeft(Kind kind, Instant now) {
        Instant windowEnd = kind.windowStart(now).plus(1, kind.window);
        return Math.max(1, (Duration.between(now, windowEnd).toMillis() + 999) / 1000);
    }

    /** Rows of windows before the previous one count nothing any more; deleted once per tenant and window. */
    private void forgetPastWindows(String tenant, Kind kind, Instant now) {
        entities.createNativeQuery("delete from quota_usage where tenant = :tenant and kind = :kind and window_start < :before")
                .setParameter("tenant", tenant).setParameter("kind", kind.column)
                .setParameter("before", utc(kind.windowStart(now).minus(1, kind.window))).executeUpdate();
    }

    /** Updates the gauge of a configured tenant; others have no series of their own (their labels would be unbounded). */
    private void observe(String tenant, Kind kind, Instant now, long used, long limit) {
        if (!config.tenants().containsKey(tenant)) {
            return;
        }
        seen.computeIfAbsent(tenant + "\u0000" + kind.column, key -> {
            AtomicReference<Seen> holder = new AtomicReference<>(new Seen(Instant.EPOCH, 0, limit));
            // the fraction of the current window: a window this process has seen nothing of reads 0
            metrics.gauge("steergate.quota.used.fraction", Tags.of("tenant", tenant, "kind", kind.column), holder, h -> {
                Seen last = h.get();
                return last.windowStart().equals(kind.windowStart(Instant.now())) ? (double) last.used() / last.limit() : 0;
            });
            return holder;
        }).set(new Seen(kind.windowStart(now), used, limit));
    }

    private String label(String tenant) {
        return config.tenants().containsKey(tenant) ? tenant : OTHER;
    }

    private static OffsetDateTime utc(Instant instant) {
        return instant.atOffset(ZoneOffset.UTC);
    }
}
