package io.steergate.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.awaitility.Awaitility;
import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * PostgreSQL away for the running test application, as a restart makes it away: the application's role refuses new
 * connections and its open ones end, through the embedded server's superuser (KafkaAndPostgresResource's
 * {@code steergate.test.postgres.superuser}). Other roles and the server itself are untouched, so the test can still
 * look and the database is back the moment the outage ends.
 */
public final class DatabaseOutage {

    private final String jdbcUrl;
    private final String appRole;
    private final String superuser;
    private final String superuserPassword;

    private DatabaseOutage(String jdbcUrl, String appRole, String superuser, String superuserPassword) {
        this.jdbcUrl = jdbcUrl;
        this.appRole = appRole;
        this.superuser = superuser;
        this.superuserPassword = superuserPassword;
    }

    /** For the application of the running @QuarkusTest. */
    public static DatabaseOutage ofTestApplication() {
        Config config = ConfigProvider.getConfig();
        return new DatabaseOutage(config.getValue("quarkus.datasource.jdbc.url", String.class),
                config.getValue("quarkus.datasource.username", String.class),
                config.getValue("steergate.test.postgres.superuser", String.class),
                config.getValue("steergate.test.postgres.superuser-password", String.class));
    }

    /**
     * What {@code during} returns, run once the database is away; returns when the outage of {@code outage} has
     * ended. Fails when {@code during} outlasted the outage: its answers would not all show the outage.
     */
    public <T> T whileAway(Duration outage, Supplier<T> during) {
        AtomicBoolean away = new AtomicBoolean();
        CompletableFuture<Void> staged = CompletableFuture.runAsync(() -> stage(outage, away));
        try {
            Awaitility.await().atMost(Duration.ofSeconds(10)).untilTrue(away);
            T answers = during.get();
            if (!away.get()) {
                throw new AssertionError("the outage of " + outage + " ended before the steps meant for it did: lengthen it");
            }
            return answers;
        } finally {
            staged.join();
        }
    }

    /** Blocks for {@code outage}; {@code away} is true from the moment the connections ended until the role may connect again. */
    public void stage(Duration outage, AtomicBoolean away) {
        try (Connection admin = DriverManager.getConnection(jdbcUrl, superuser, superuserPassword);
             Statement statement = admin.createStatement()) {
            statement.execute("alter role " + appRole + " connection limit 0");
            try {
                statement.execute("select pg_terminate_backend(pid) from pg_stat_activity where usename = '" + appRole + "'");
                away.set(true);
                Thread.sleep(outage.toMillis());
            } finally {
                away.set(false);
                statement.execute("alter role " + appRole + " connection limit -1");
            }
        } catch (SQLException e) {
            throw new IllegalStateException("staging the outage failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
