package io.steergate.launcher;

import java.time.Duration;

/**
 * Keeps the embedded PostgreSQL running: when its postmaster exits, closes the old server object (which releases
 * zonky's lock on the data directory) and starts a new one on the same directory, with a growing pause between
 * failed attempts. {@link #check()} is called by the launcher's supervision loop.
 */
final class SupervisedPostgres implements AutoCloseable {

    private final Postgres.Settings settings;
    private final String password;
    private final String ownerPassword;
    private final String appPassword;
    private final String jdbcUrl;
    private Postgres current;
    private long lastPid;
    private long downSinceNanos;
    private long nextAttemptNanos;
    private int failedAttempts;

    private SupervisedPostgres(Postgres.Settings settings, Postgres first) {
        this.settings = settings;
        this.current = first;
        this.password = first.password();
        this.ownerPassword = first.ownerPassword();
        this.appPassword = first.appPassword();
        this.jdbcUrl = first.jdbcUrl();
        this.lastPid = first.postmaster().pid();
    }

    static SupervisedPostgres start(Postgres.Settings settings) throws Exception {
        return new SupervisedPostgres(settings, Postgres.start(settings));
    }

    /** Notices a postmaster that exited and restarts PostgreSQL when the next attempt is due. */
    synchronized void check() {
        long now = System.nanoTime();
        if (current != null) {
            if (current.isRunning()) {
                return;
            }
            // not our child (pg_ctl daemonizes it), so its exit code is not ours to read
            EmbeddedStack.say("PostgreSQL (pid " + lastPid + ") exited; restarting");
            current.close();
            current = null;
            downSinceNanos = now;
            nextAttemptNanos = now;
            failedAttempts = 0;
        }
        if (now < nextAttemptNanos) {
            return;
        }
        try {
            current = Postgres.start(settings);
            lastPid = current.postmaster().pid();
            EmbeddedStack.say(String.format("PostgreSQL back after %.1f s (pid %d)",
                    (System.nanoTime() - downSinceNanos) / 1e9, lastPid));
        } catch (Exception e) {
            failedAttempts++;
            Duration pause = EmbeddedStack.restartPause(failedAttempts);
            EmbeddedStack.say("PostgreSQL did not start (" + EmbeddedStack.reason(e) + "); next attempt in "
                    + pause.toSeconds() + " s (see the infrastructure log)");
            nextAttemptNanos = System.nanoTime() + pause.toNanos();
        }
    }

    /** The postmaster of the running server; null while PostgreSQL is down. */
    synchronized ProcessHandle postmaster() {
        return current == null ? null : current.postmaster();
    }

    /** The postgres role's password; the same across restarts. */
    String password() {
        return password;
    }

    /** The migration role's password ({@link Postgres#OWNER_ROLE}); the same across restarts. */
    String ownerPassword() {
        return ownerPassword;
    }

    /** The application role's password ({@link Postgres#APP_ROLE}); the same across restarts. */
    String appPassword() {
        return appPassword;
    }

    String jdbcUrl() {
        return jdbcUrl;
    }

    @Override
    public synchronized void close() {
        if (current != null) {
            current.close();
            current = null;
        }
    }
}
