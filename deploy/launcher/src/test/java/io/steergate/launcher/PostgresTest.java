package io.steergate.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's PostgreSQL: durable settings, password authentication, and the upgrade of a trust data directory. */
class PostgresTest {

    @TempDir
    Path dir;

    @Test
    void runsDurableAndRequiresItsPassword() throws Exception {
        Path passwordFile = dir.resolve("credentials").resolve("postgres.password");
        try (Postgres postgres = Postgres.start(new Postgres.Settings(dir.resolve("postgres"), freePort(), "steergate", passwordFile, true))) {
            String password = Files.readString(passwordFile).strip();
            assertEquals(postgres.password(), password);
            assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(passwordFile));

            try (Connection connection = DriverManager.getConnection(postgres.jdbcUrl(), Postgres.USER, password)) {
                assertEquals("on", show(connection, "fsync"));
                assertEquals("on", show(connection, "synchronous_commit"));
                assertEquals("scram-sha-256", show(connection, "password_encryption"));
            }
            assertRefused(postgres.jdbcUrl(), "");
            SQLException wrong = assertRefused(postgres.jdbcUrl(), password + "x");
            assertEquals("28P01", wrong.getSQLState(), wrong.getMessage()); // invalid_password
        }
    }

    @Test
    void givesATrustDataDirectoryAPasswordAndKeepsItsData() throws Exception {
        Path dataDir = dir.resolve("postgres");
        int port = freePort();
        // a data directory as earlier launchers left it: zonky's initdb -A trust, no password
        try (EmbeddedPostgres old = EmbeddedPostgres.builder().setDataDirectory(dataDir).setCleanDataDirectory(false)
                .setPort(port).setRegisterShutdownHook(false).start();
             Connection connection = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", "");
             Statement statement = connection.createStatement()) {
            statement.execute("create table kept (id int)");
            statement.execute("insert into kept values (7)");
        }

        Path passwordFile = dir.resolve("credentials").resolve("postgres.password");
        try (Postgres postgres = Postgres.start(new Postgres.Settings(dataDir, port, "steergate", passwordFile, true))) {
            String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
            assertRefused(url, "");
            try (Connection connection = DriverManager.getConnection(url, Postgres.USER, Files.readString(passwordFile).strip());
                 Statement statement = connection.createStatement();
                 ResultSet rows = statement.executeQuery("select id from kept")) {
                assertTrue(rows.next());
                assertEquals(7, rows.getInt(1));
            }
            assertTrue(Files.readString(dataDir.resolve("pg_hba.conf")).startsWith(Postgres.HBA_HEADER));
        }
    }

    @Test
    void tradesDurabilityOnlyWhenAskedTo() throws Exception {
        Path passwordFile = dir.resolve("postgres.password");
        try (Postgres postgres = Postgres.start(new Postgres.Settings(dir.resolve("postgres"), freePort(), "steergate", passwordFile, false));
             Connection connection = DriverManager.getConnection(postgres.jdbcUrl(), Postgres.USER, postgres.password())) {
            assertEquals("off", show(connection, "fsync"));
            assertEquals("off", show(connection, "synchronous_commit"));
        }
    }

    private static SQLException assertRefused(String url, String password) {
        return assertThrows(SQLException.class, () -> DriverManager.getConnection(url, Postgres.USER, password).close(),
                "a TCP connection with password '" + password + "' must be refused");
    }

    static String show(Connection connection, String setting) throws SQLException {
        try (Statement statement = connection.createStatement(); ResultSet rows = statement.executeQuery("show " + setting)) {
            rows.next();
            return rows.getString(1);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return socket.getLocalPort();
        }
    }
}
