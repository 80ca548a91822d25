package io.steergate.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The test PostgreSQL is durable like production, and one with its own data directory survives a SIGKILL. */
class EmbeddedPostgresServerTest {

    @Test
    void commitsAreFlushedToDisk() throws Exception {
        try (EmbeddedPostgresServer postgres = new EmbeddedPostgresServer().start()) {
            assertEquals("on", show(postgres, "fsync"));
            assertEquals("on", show(postgres, "synchronous_commit"));
        }
    }

    @Test
    void aCommittedRowSurvivesASigkillAndTheServerComesBackOnTheSameUrl(@TempDir Path dir) throws Exception {
        try (EmbeddedPostgresServer postgres = new EmbeddedPostgresServer(dir.resolve("data")).start()) {
            String url = postgres.jdbcUrl();
            execute(postgres, "create table survivors (name text)");
            execute(postgres, "insert into survivors values ('committed before the kill')");
            long pid = postgres.postmasterPid();

            postgres.kill();

            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the postmaster is dead");
            assertThrows(SQLException.class, () -> execute(postgres, "select 1"));
            postgres.start();
            assertEquals(url, postgres.jdbcUrl());
            assertNotEquals(pid, postgres.postmasterPid());
            try (Connection connection = connect(postgres);
                 Statement statement = connection.createStatement();
                 ResultSet rows = statement.executeQuery("select name from survivors")) {
                rows.next();
                assertEquals("committed before the kill", rows.getString(1));
                assertFalse(rows.next());
            }
        }
    }

    private static String show(EmbeddedPostgresServer postgres, String setting) throws SQLException {
        try (Connection connection = connect(postgres);
             Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("show " + setting)) {
            rows.next();
            return rows.getString(1);
        }
    }

    private static void execute(EmbeddedPostgresServer postgres, String sql) throws SQLException {
        try (Connection connection = connect(postgres); Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    private static Connection connect(EmbeddedPostgresServer postgres) throws SQLException {
        return DriverManager.getConnection(postgres.jdbcUrl(), postgres.username(), postgres.password());
    }
}
