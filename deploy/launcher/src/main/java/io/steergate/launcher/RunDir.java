package io.steergate.launcher;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Optional;

/**
 * {@code <data-dir>/run/}: a lock that admits one launcher per data directory (held for the launcher's life, the
 * operating system releases it when the launcher dies however it dies), and the pids of the launcher's children,
 * so that the next launcher finds and stops what a killed one left running.
 */
final class RunDir implements AutoCloseable {

    /** Another launcher holds the data directory. */
    static final class Busy extends Exception {
        Busy(String message) {
            super(message);
        }
    }

    private final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private RunDir(Path dir, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    static RunDir claim(Path dataDir) throws IOException, Busy {
        Path dir = dataDir.resolve("run");
        Files.createDirectories(dir);
        Path lockFile = dir.resolve("launcher.lock");
        FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            String holder = Files.readString(lockFile, StandardCharsets.US_ASCII).strip();
            channel.close();
            throw new Busy("another launcher" + (holder.isEmpty() ? "" : " (pid " + holder + ")") + " is running on "
                    + dataDir.toAbsolutePath().normalize() + "; stop it first, or use another --data-dir");
        }
        channel.truncate(0);
        channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
        return new RunDir(dir, channel, lock);
    }

    void recordApp(ProcessHandle app) {
        record("app.pid", app);
    }

    void recordWatchdog(ProcessHandle watchdog) {
        record("watchdog.pid", watchdog);
    }

    private void record(String name, ProcessHandle process) {
        try {
            Files.writeString(dir.resolve(name), process.pid() + " " + Processes.startMillis(process) + "\n", StandardCharsets.US_ASCII);
        } catch (IOException e) {
            EmbeddedStack.say("could not record pid " + process.pid() + " in " + dir.resolve(name) + ": " + e);
        }
    }

    /**
     * Stops what a killed launcher left on this data directory: waits for its watchdog (which is already stopping
     * the rest, and would otherwise stop what this launcher starts), then stops its application and its PostgreSQL.
     */
    void stopLeftovers(Path postgresDataDir) {
        recorded("watchdog.pid").ifPresent(watchdog -> {
            EmbeddedStack.say("waiting for the watchdog of an earlier launcher (pid " + watchdog.pid() + ") to stop what it left");
            if (!Processes.awaitExit(watchdog, Duration.ofSeconds(45))) {
                watchdog.destroyForcibly();
            }
        });
        recorded("app.pid").ifPresent(app -> {
            EmbeddedStack.say("stopping the application (pid " + app.pid() + ") left running by an earlier launcher");
            Processes.stop(app, "TERM", Duration.ofSeconds(30));
        });
        Postgres.stopLeftover(postgresDataDir);
    }

    private Optional<ProcessHandle> recorded(String name) {
        try {
            String[] fields = Files.readString(dir.resolve(name), StandardCharsets.US_ASCII).strip().split("\\s+");
            return Processes.sameProcess(Long.parseLong(fields[0]), Long.parseLong(fields[1]));
        } catch (IOException | RuntimeException e) {
            return Optional.empty(); // never recorded, or unreadable: nothing to stop
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            // released by the operating system when the launcher exits
        }
    }
}
