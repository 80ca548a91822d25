package io.steergate.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The supervisor brings PostgreSQL back after its postmaster is killed, with every committed row. */
class SupervisedPostgresTest {

    @TempDir
    Path dir;

    @Test
    void restartsAKilledPostmasterAndKeepsCommittedRows() throws Exception {
        Postgres.Settings settings = new Postgres.Settings(dir.resolve("postgres"), PostgresTest.freePort(), "steergate",
                dir.resolve("postgres.password"), true);
        try (SupervisedPostgres postgres = SupervisedPostgres.start(settings)) {
            try (Connection connection = DriverManager.getConnection(postgres.jdbcUrl(), Postgres.USER, postgres.password());
                 Statement statement = connection.createStatement()) {
                statement.execute("create table accepted (id int primary key)");
                for (int id = 1; id <= 100; id++) {
                    statement.execute("insert into accepted values (" + id + ")"); // one committed transaction each
                }
            }
            ProcessHandle killed = postgres.postmaster();
            assertTrue(killed.destroyForcibly(), "SIGKILL the postmaster");

            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            ProcessHandle restarted = null;
            while (restarted == null || restarted.pid() == killed.pid()) {
                if (System.nanoTime() > deadline) {
                    fail("PostgreSQL was not restarted within 2 minutes of its postmaster's SIGKILL");
                }
                postgres.check();
                restarted = postgres.postmaster();
                Thread.sleep(200);
            }
            assertNotEquals(killed.pid(), restarted.pid());
            assertTrue(Processes.isRunning(restarted));

            try (Connection connection = DriverManager.getConnection(postgres.jdbcUrl(), Postgres.USER, postgres.password());
                 Statement statement = connection.createStatement();
                 ResultSet rows = statement.executeQuery("select count(*), max(id) from accepted")) {
                rows.next();
                assertEquals(100, rows.getInt(1));
                assertEquals(100, rows.getInt(2));
            }
        }
    }
}
