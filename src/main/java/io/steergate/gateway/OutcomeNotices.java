package io.steergate.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import io.steergate.role.ProcessRoles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * Tells every gateway instance that a request's outcome was stored, so the instance whose caller waits for it (a
 * synchronous POST, a stream) answers at once instead of at its next re-read of the row. Job results are spread over
 * the gateways by the consumer group, so with N gateways (N-1)/N of the outcomes are stored by an instance the caller
 * is not connected to; the re-read every outcome-poll (250 ms) made those callers wait 125 ms on average for nothing.
 *
 * <p>PostgreSQL's LISTEN/NOTIFY carries the notice: {@link #announce} runs {@code pg_notify} inside the transaction
 * that stores the outcome, and PostgreSQL delivers it only if that transaction commits, so a notice never runs ahead
 * of the row. Each gateway listens on one dedicated connection (not the pool's: a pooled connection is handed to
 * others between uses). Notices are best effort: one sent while a listener was reconnecting is lost, and the waiter
 * finds the row at its next re-read as before. Off ({@code steergate.gateway.outcome-notices=false}) where the
 * database is reached through a pooler that cannot hold a LISTEN (PgBouncer in transaction mode).
 */
@ApplicationScoped
public class OutcomeNotices {

    private static final Logger LOG = Logger.getLogger(OutcomeNotices.class);
    /** The channel every gateway listens on; a notice's payload is {@code tenant/requestId} (neither may hold a '/'). */
    static final String CHANNEL = "steergate_outcomes";
    /** How long one wait for notices blocks before the listener checks that it should go on. */
    private static final int WAIT_MS = 5_000;
    /** How often an idle listener asks the server whether its connection is still there (a half-open one delivers nothing). */
    private static final long CHECK_NANOS = 30_000_000_000L;
    /** The listener's connection, as pg_stat_activity names it (operators and tests find it by this). */
    public static final String APPLICATION_NAME = "steergate-outcome-notices";

    @Inject
    EntityManager entities;

    @Inject
    GenerationWaiters waiters;

    @Inject
    GatewayConfig config;

    @Inject
    ProcessRoles roles;

    @Inject
    MeterRegistry metrics;

    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String url;

    @ConfigProperty(name = "quarkus.datasource.username")
    String username;

    @ConfigProperty(name = "quarkus.datasource.password")
    String password;

    private final AtomicInteger listening = new AtomicInteger();
    private Counter woke;
    private volatile boolean running;
    private Thread thread;
    /** The listener's connection while it has one: closed by {@link #stop} to end a wait for notices at once. */
    private volatile Connection current;

    void start(@Observes StartupEvent event) {
        if (!roles.gateway() || !config.outcomeNotices()) {
            return;
        }
        // 1 while this instance's listener holds its LISTEN, 0 while it reconnects (waiters then rely on re-reads)
        metrics.gauge("steergate.gateway.outcome.notices.listening", listening);
        woke = Counter.builder("steergate.gateway.outcome.notices.woke")
                .description("Waiters answered by a notice that another gateway instance stored their outcome").register(metrics);
        running = true;
        thread = new Thread(this::run, "outcome-notices");
        thread.setDaemon(true);
        thread.start();
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        running = false;
        if (thread != null) {
            thread.interrupt();
            abort(current); // a wait for notices is a socket read, which an interrupt does not end
            thread.join(WAIT_MS + 1_000);
        }
    }

    /** Closes the socket under a connection another thread may be reading from (JDBC's abort, unlike close, may). */
    private static void abort(Connection open) {
        if (open != null) {
            try {
                open.abort(Runnable::run);
            } catch (SQLException e) {
                // aborting to stop: nothing is left to do with it
            }
        }
    }

    /** In the transaction that stores a request's outcome: every gateway hears of it once (and only if) it commits. */
    void announce(String tenant, String requestId) {
        if (!config.outcomeNotices()) {
            return;
        }
        entities.createNativeQuery("select pg_notify(:channel, :payload)").setParameter("channel", CHANNEL)
                .setParameter("payload", tenant + "/" + requestId).getSingleResult();
    }

    private void run() {
        int failures = 0;
        while (running) {
            try (Connection connection = connect()) {
                current = connection;
                if (!running) {
                    return; // stopped while connecting: stop() may have looked before this connection existed
                }
                try (Statement listen = connection.createStatement()) {
                    listen.execute("LISTEN " + CHANNEL);
                }
                listening.set(1);
                if (failures > 0) {
                    LOG.infof("outcome notices: listening again after %d failed attempts", failures);
                }
                failures = 0;
                PGConnection notices = connection.unwrap(PGConnection.class);
                long checked = System.nanoTime();
                while (running) {
                    PGNotification[] received = notices.getNotifications(WAIT_MS);
                    if (received != null && received.length > 0) {
                        for (PGNotification notice : received) {
                            deliver(notice.getParameter());
                        }
                        checked = System.nanoTime();
                    } else if (System.nanoTime() - checked >= CHECK_NANOS) {
                        if (!connection.isValid(3)) {
                            throw new SQLException("the listening connection no longer answers");
                        }
                        checked = System.nanoTime();
                    }
                }
            } catch (SQLException | RuntimeException e) {
                listening.set(0);
                if (!running || Thread.currentThread().isInterrupted()) {
                    return;
                }
                failures++;
                if (failures == 1 || failures % 60 == 0) {
                    LOG.warnf("outcome notices: not listening (attempt %d), waiters re-read their rows meanwhile: %s",
                            failures, Failures.rootMessage(e));
                }
                Retry.backOff(Math.min(5_000, 200L * failures));
            }
        }
    }

    private void deliver(String payload) {
        int slash = payload.indexOf('/');
        if (slash <= 0) {
            return; // not a notice this version sends
        }
        try {
            if (waiters.storedElsewhere(payload.substring(0, slash), payload.substring(slash + 1))) {
                woke.increment();
            }
        } catch (RuntimeException e) {
            // the waiter's own re-read will find the outcome; this notice is only a shortcut
            LOG.debugf("outcome notice for %s not delivered: %s", payload, Failures.rootMessage(e));
        }
    }

    /** A connection of its own, with the pool's URL and login; the driver's own timeouts bound a dead server. */
    private Connection connect() throws SQLException {
        Properties login = new Properties();
        login.setProperty("user", username);
        login.setProperty("password", password);
        login.setProperty("ApplicationName", APPLICATION_NAME);
        login.setProperty("connectTimeout", "3");
        login.setProperty("tcpKeepAlive", "true");
        Connection connection = new org.postgresql.Driver().connect(url, login);
        if (connection == null) {
            throw new SQLException("not a PostgreSQL JDBC URL: " + url);
        }
        connection.setAutoCommit(true);
        return connection;
    }
}
