package io.steergate.gateway;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.steergate.resilience.Failures;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Status;
import jakarta.transaction.Synchronization;
import jakarta.transaction.TransactionSynchronizationRegistry;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Lets a synchronous HTTP caller wait for its request's outcome. Outcomes stored by this instance wake the waiter
 * right after commit; an outcome stored by another gateway instance wakes it through that instance's notice
 * ({@link OutcomeNotices}), and, should the notice be lost, by re-reading the row every outcome-poll. A
 * re-read that fails because the database is away counts as "not yet": no outcome can be stored while it is away,
 * and the one stored when it is back still wakes the waiter, so a waiter outlives an outage shorter than its wait.
 */
@ApplicationScoped
public class GenerationWaiters {

    @Inject
    TransactionSynchronizationRegistry transactions;

    @Inject
    MeterRegistry metrics;

    @Inject
    GatewayConfig config;

    private final ConcurrentHashMap<String, CompletableFuture<String>> waiting = new ConcurrentHashMap<>();
    /** Open watches per tenant; a tenant's entry goes when its last watch closes, so the map holds waiting tenants only. */
    private final ConcurrentHashMap<String, Integer> watchesByTenant = new ConcurrentHashMap<>();

    /** Called inside the transaction that stores a final result; wakes a waiter only if that transaction commits. */
    void completeAfterCommit(String tenant, String requestId, String resultJson) {
        String key = key(tenant, requestId);
        transactions.registerInterposedSynchronization(new Synchronization() {
            @Override
            public void beforeCompletion() {}

            @Override
            public void afterCompletion(int status) {
                CompletableFuture<String> waiter = waiting.get(key);
                if (status == Status.STATUS_COMMITTED && waiter != null) {
                    waiter.complete(resultJson);
                }
            }
        });
    }

    /**
     * Another instance stored this request's outcome: a waiter here, if any, is answered from the row now. True if
     * one was; a failed read is left to the waiter's own re-read.
     */
    boolean storedElsewhere(String tenant, String requestId) {
        CompletableFuture<String> waiter = waiting.get(key(tenant, requestId));
        if (waiter == null || waiter.isDone()) {
            return false;
        }
        return storedResult(tenant, requestId).map(waiter::complete).orElse(false);
    }

    /** The row's result JSON, read in a fresh transaction so that it comes from the database and not a session cache. */
    private static Optional<String> storedResult(String tenant, String requestId) {
        return QuarkusTransaction.requiringNew()
                .call(() -> Generation.byTenantAndRequestId(tenant, requestId).map(row -> row.resultJson));
    }

    /** Waits up to {@code timeout} for the stored result JSON of a tenant's request; empty if none arrived in time. */
    Optional<String> await(String tenant, String requestId, Duration timeout) throws InterruptedException {
        try (Watch watch = watch(tenant, requestId)) {
            return watch.poll(timeout);
        }
    }

    /** A watch on a tenant's request's outcome, for a caller that waits for other things too (a stream's pieces). */
    public Watch watch(String tenant, String requestId) {
        String key = key(tenant, requestId);
        watchesByTenant.merge(tenant, 1, Integer::sum);
        return new Watch(tenant, requestId, key, waiting.computeIfAbsent(key, k -> new CompletableFuture<>()));
    }

    /**
     * Whether {@code tenant} already has steergate.gateway.max-waiting-per-tenant callers waiting here. Asked before a
     * request is accepted, so a refused one is not stored; requests admitted together may pass it by a few.
     */
    public boolean full(String tenant) {
        return watchesByTenant.getOrDefault(tenant, 0) >= config.maxWaitingPerTenant();
    }

    /** The outcome of one request as it becomes known; close it when done waiting. */
    public final class Watch implements AutoCloseable {

        private final String tenant;
        private final String requestId;
        private final String key;
        private final CompletableFuture<String> waiter;
        private long nextRead = System.nanoTime();

        private Watch(String tenant, String requestId, String key, CompletableFuture<String> waiter) {
            this.tenant = tenant;
            this.requestId = requestId;
            this.key = key;
            this.waiter = waiter;
        }

        /**
         * The stored result JSON, waiting up to {@code timeout} (zero: only a look); empty if none arrived in time.
         * The row is re-read at most every outcome-poll, in case another instance's notice of the outcome was lost.
         */
        public Optional<String> poll(Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                if (waiter.isDone()) {
                    return Optional.of(waiter.join());
                }
                if (System.nanoTime() - nextRead >= 0) {
                    Optional<String> stored = read();
                    nextRead = System.nanoTime() + config.outcomePoll().toNanos();
                    if (stored.isPresent()) {
                        return stored;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return Optional.empty();
                }
                try {
                    return Optional.of(waiter.get(Math.min(left, Math.max(0, nextRead - System.nanoTime())), TimeUnit.NANOSECONDS));
                } catch (TimeoutException e) {
                    // not yet
                } catch (ExecutionException e) {
                    throw new IllegalStateException("waiter failed", e.getCause());
                }
            }
        }

        private Optional<String> read() {
            try {
                return storedResult(tenant, requestId);
            } catch (RuntimeException e) {
                if (!Failures.isTransient(e)) {
                    throw e;
                }
                // logged by the parts that store outcomes; one line per waiter each outcome-poll would flood the log
                metrics.counter("steergate.gateway.outcome.reads.failed").increment();
                return Optional.empty();
            }
        }

        /**
         * Runs {@code action} when the outcome is stored by this instance or announced by another (not when only a
         * re-read in {@link #poll} finds it).
         */
        public void onStored(Runnable action) {
            waiter.thenRun(action);
        }

        @Override
        public void close() {
            waiting.remove(key, waiter);
            watchesByTenant.computeIfPresent(tenant, (t, open) -> open == 1 ? null : open - 1);
        }
    }

    /** Request ids are unique per tenant; a tenant name has no '/'. */
    private static String key(String tenant, String requestId) {
        return tenant + "/" + requestId;
    }
}
