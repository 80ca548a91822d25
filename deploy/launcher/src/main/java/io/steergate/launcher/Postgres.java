package io.steergate.launcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import org.postgresql.PGConnection;

/**
 * A persistent PostgreSQL from the io.zonky binaries, durable and password-protected: fsync and synchronous
 * commit on (unless {@link Settings#durable()} is false), SCRAM passwords for every connection. initdb runs
 * only on an empty data directory; a directory initialised without a password (the trust setup of earlier
 * launchers) gets one on its next start.
 *
 * <p>Besides the superuser it keeps the application's two roles ({@link #ensureRoles}): {@link #OWNER_ROLE} owns the
 * database and its schema and runs the migrations; {@link #APP_ROLE} is what the application connects as (V9 lets it
 * only insert audit records and review verdicts). Their random passwords live next to the superuser's, mode 0600.
 */
final class Postgres implements AutoCloseable {

    static final String USER = "postgres";
    static final String OWNER_ROLE = "steergate_owner";
    static final String APP_ROLE = "steergate_app";
    /** First line of the pg_hba.conf the launcher writes; a data directory without it has no password yet. */
    static final String HBA_HEADER = "# written by the SteerGate launcher: a password (scram-sha-256) for every connection";
    private static final String HBA_PASSWORD = HBA_HEADER + """

            local all all scram-sha-256
            host  all all 127.0.0.1/32 scram-sha-256
            host  all all ::1/128 scram-sha-256
            """;
    /** Only while an existing data directory gets its password, for the start that sets it. */
    private static final String HBA_SETTING_PASSWORD = """
            # written by the SteerGate launcher for one start, while it sets the postgres password
            local all postgres trust
            host  all postgres 127.0.0.1/32 trust
            host  all postgres ::1/128 trust
            """;
    private static final Duration STARTUP_WAIT = Duration.ofSeconds(60);

    /**
     * @param dataDir      the PostgreSQL data directory
     * @param passwordFile the postgres role's password, one line; created (mode 0600) when missing
     * @param durable      fsync and synchronous commit on; false only with the launcher's --unsafe-no-fsync
     */
    record Settings(Path dataDir, int port, String database, Path passwordFile, boolean durable) {}

    private final EmbeddedPostgres server;
    private final Settings settings;
    private final String password;
    private final ProcessHandle postmaster;
    private String ownerPassword;
    private String appPassword;

    private Postgres(EmbeddedPostgres server, Settings settings, String password, ProcessHandle postmaster) {
        this.server = server;
        this.settings = settings;
        this.password = password;
        this.postmaster = postmaster;
    }

    /** Where a role's password is kept: beside the superuser's, {@code <role>.password}. */
    static Path passwordFileOf(Settings settings, String role) {
        return settings.passwordFile().toAbsolutePath().resolveSibling(role + ".password");
    }

    static Postgres start(Settings settings) throws Exception {
        Path dataDir = settings.dataDir().toAbsolutePath();
        Files.createDirectories(dataDir);
        boolean initialised = Files.exists(dataDir.resolve("postgresql.conf"));
        boolean passwordOnFile = Files.isRegularFile(settings.passwordFile());
        String password = passwordOnFile ? Secrets.readPassword(settings.passwordFile()) : Secrets.createPassword(settings.passwordFile());
        boolean passwordSet = !initialised || (passwordOnFile && hasPasswordHba(dataDir));
        String durability = settings.durable() ? "on" : "off";
        var builder = EmbeddedPostgres.builder()
                .setPort(settings.port())
                .setDataDirectory(dataDir.toFile())
                .setCleanDataDirectory(false)
                // the launcher stops PostgreSQL itself, after the application that uses it
                .setRegisterShutdownHook(false)
                .setPGStartupWait(STARTUP_WAIT)
                // zonky starts the postmaster with -F (fsync off) and synchronous_commit=off; these -c options
                // come after -F and win (PostgresTest checks with SHOW)
                .setServerConfig("fsync", durability)
                .setServerConfig("synchronous_commit", durability)
                .setServerConfig("password_encryption", "scram-sha-256")
                // zonky's own start-up check connects over TCP with these properties
                .setConnectConfig("password", password)
                .setDataDirectoryCustomizer(dir -> writeHba(dir.toPath(), passwordSet ? HBA_PASSWORD : HBA_SETTING_PASSWORD));
        if (!initialised) {
            // zonky appends its "locale" options to initdb as --key=value: the password is set by initdb itself,
            // so a new database never accepts a connection without it
            builder.setLocaleConfig("pwfile", settings.passwordFile().toAbsolutePath().toString());
        }
        // zonky locks epg-lock for the life of its object, and an object whose start failed is never handed back to
        // close it; the launcher's own data-directory lock already keeps other launchers out, so start from a new file
        Files.deleteIfExists(dataDir.resolve("epg-lock"));
        EmbeddedPostgres server = builder.start();
        Postgres postgres;
        try {
            ProcessHandle postmaster = postmasterOf(dataDir)
                    .orElseThrow(() -> new IllegalStateException("PostgreSQL started but " + dataDir.resolve("postmaster.pid") + " names no live process"));
            postgres = new Postgres(server, settings, password, postmaster);
            if (!passwordSet) {
                postgres.setPassword();
            }
            postgres.createDatabase();
            postgres.ensureRoles();
        } catch (Exception e) {
            server.close();
            throw e;
        }
        return postgres;
    }

    /** The postmaster running on this data directory, from its postmaster.pid. */
    static Optional<ProcessHandle> postmasterOf(Path dataDir) {
        Path pidFile = dataDir.resolve("postmaster.pid");
        try {
            List<String> lines = Files.readAllLines(pidFile, StandardCharsets.US_ASCII);
            if (lines.isEmpty()) {
                return Optional.empty();
            }
            return ProcessHandle.of(Long.parseLong(lines.get(0).strip()))
                    .filter(Processes::isRunning)
                    .filter(process -> process.info().command().map(command -> command.endsWith("postgres")).orElse(true));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** Stops a postmaster still running on this data directory (left by a launcher that was killed). */
    static void stopLeftover(Path dataDir) {
        postmasterOf(dataDir).ifPresent(postmaster -> {
            EmbeddedStack.say("stopping PostgreSQL (pid " + postmaster.pid() + ") left running on " + dataDir
                    + " by an earlier launcher");
            // SIGINT: fast shutdown (SIGTERM would wait for the clients to disconnect)
            Processes.stop(postmaster, "INT", Duration.ofSeconds(30));
        });
    }

    private static boolean hasPasswordHba(Path dataDir) throws IOException {
        Path hba = dataDir.resolve("pg_hba.conf");
        return Files.isRegularFile(hba) && Files.readAllLines(hba, StandardCharsets.UTF_8).stream().findFirst()
                .map(HBA_HEADER::equals).orElse(false);
    }

    private static void writeHba(Path dataDir, String content) {
        try {
            Path tmp = dataDir.resolve("pg_hba.conf.tmp");
            Files.writeString(tmp, content, StandardCharsets.UTF_8);
            Files.move(tmp, dataDir.resolve("pg_hba.conf"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sets the role's password (hashed client-side, so it is never in a server log), then requires it. */
    private void setPassword() throws SQLException, IOException {
        try (Connection connection = server.getPostgresDatabase().getConnection()) {
            connection.unwrap(PGConnection.class).alterUserPassword(USER, password.toCharArray(), "scram-sha-256");
            writeHba(settings.dataDir().toAbsolutePath(), HBA_PASSWORD);
            try (Statement statement = connection.createStatement()) {
                statement.execute("select pg_reload_conf()");
            }
        }
        // the reload is asynchronous: wait until a connection without the password is refused
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (acceptsWithoutPassword()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("PostgreSQL still accepts connections without a password after reloading "
                        + settings.dataDir().resolve("pg_hba.conf"));
            }
            EmbeddedStack.sleep(100);
        }
        EmbeddedStack.say("PostgreSQL in " + settings.dataDir() + " now requires a password (scram-sha-256), kept in "
                + settings.passwordFile());
    }

    private boolean acceptsWithoutPassword() {
        try (Connection ignored = DriverManager.getConnection(jdbcUrl("postgres"), USER, "")) {
            return true;
        } catch (SQLException e) {
            return false;
        }
    }

    private void createDatabase() throws SQLException {
        try (Connection connection = server.getPostgresDatabase().getConnection();
             Statement statement = connection.createStatement()) {
            boolean exists;
            try (ResultSet rows = statement.executeQuery("select 1 from pg_database where datname = '" + settings.database() + "'")) {
                exists = rows.next();
            }
            if (!exists) {
                statement.execute("create database " + settings.database());
            }
        }
    }

    /**
     * Creates the owner and application roles when missing and (re)sets their passwords from their files; makes the
     * owner own the database and its public schema, where nobody else may create objects. A database migrated by an
     * earlier launcher, whose application ran as the superuser, is upgraded in place: what the superuser owns in the
     * schema (tables with their sequences, views, functions) passes to the owner, so that Flyway, now migrating as the
     * owner, can alter it; V9 then grants the application role its privileges.
     */
    private void ensureRoles() throws SQLException, IOException {
        ownerPassword = Secrets.passwordOf(passwordFileOf(settings, OWNER_ROLE));
        appPassword = Secrets.passwordOf(passwordFileOf(settings, APP_ROLE));
        try (Connection connection = server.getDatabase(USER, settings.database()).getConnection();
             Statement statement = connection.createStatement()) {
            PGConnection pg = connection.unwrap(PGConnection.class);
            for (String role : List.of(OWNER_ROLE, APP_ROLE)) {
                statement.execute("do $$ begin if not exists (select 1 from pg_roles where rolname = '" + role
                        + "') then create role " + role + " login; end if; end $$");
                // hashed client-side, so the password never reaches a server log
                pg.alterUserPassword(role, (role.equals(OWNER_ROLE) ? ownerPassword : appPassword).toCharArray(), "scram-sha-256");
            }
            statement.execute("alter database " + settings.database() + " owner to " + OWNER_ROLE);
            statement.execute("alter schema public owner to " + OWNER_ROLE);
            statement.execute("revoke create on schema public from public");
            statement.execute("""
                    do $$
                    declare o record;
                    begin
                        for o in select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
                                 where n.nspname = 'public' and c.relowner = '%1$s'::regrole and c.relkind in ('r', 'p', 'v', 'm')
                        loop
                            execute format(case o.relkind when 'v' then 'alter view %%I owner to %2$s'
                                                          when 'm' then 'alter materialized view %%I owner to %2$s'
                                                          else 'alter table %%I owner to %2$s' end, o.relname);
                        end loop;
                        -- sequences of their own (an identity or serial sequence moves with its table)
                        for o in select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                                 where n.nspname = 'public' and c.relowner = '%1$s'::regrole and c.relkind = 'S'
                        loop
                            execute format('alter sequence %%I owner to %2$s', o.relname);
                        end loop;
                        for o in select p.oid::regprocedure as signature from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                                 where n.nspname = 'public' and p.proowner = '%1$s'::regrole
                        loop
                            execute format('alter function %%s owner to %2$s', o.signature);
                        end loop;
                    end $$""".formatted(USER, OWNER_ROLE));
        }
    }

    ProcessHandle postmaster() {
        return postmaster;
    }

    boolean isRunning() {
        return Processes.isRunning(postmaster);
    }

    String password() {
        return password;
    }

    String ownerPassword() {
        return ownerPassword;
    }

    String appPassword() {
        return appPassword;
    }

    String jdbcUrl() {
        return jdbcUrl(settings.database());
    }

    private String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + settings.port() + "/" + database;
    }

    /**
     * Stops the postmaster (fast shutdown) and releases zonky's lock on the data directory; also after the
     * postmaster died, so that a new one can start on the same directory.
     */
    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            EmbeddedStack.say("PostgreSQL did not stop cleanly: " + e);
        }
        // pg_ctl stop gives up after 5 s while the shutdown checkpoint may still be running: wait for it
        if (!Processes.awaitExit(postmaster, Duration.ofSeconds(60))) {
            EmbeddedStack.say("PostgreSQL (pid " + postmaster.pid() + ") did not stop within 60 s; stopping it immediately");
            Processes.stop(postmaster, "QUIT", Duration.ofSeconds(10));
        }
    }
}
