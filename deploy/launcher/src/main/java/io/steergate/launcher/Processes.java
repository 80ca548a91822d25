package io.steergate.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** Process helpers for the launcher's children and for processes left behind by a launcher that was killed. */
final class Processes {

    private Processes() {
    }

    /**
     * Alive and not a zombie. {@link ProcessHandle#isAlive()} counts a zombie as alive, and a postmaster whose new
     * parent does not reap it stays one.
     */
    static boolean isRunning(ProcessHandle process) {
        return process.isAlive() && !isZombie(process.pid());
    }

    private static boolean isZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
            // "pid (comm) state ...": comm may hold spaces and parentheses, the state follows the last ')'
            int end = stat.lastIndexOf(')');
            char state = end >= 0 && end + 2 < stat.length() ? stat.charAt(end + 2) : '?';
            return state == 'Z' || state == 'X';
        } catch (IOException e) {
            return false; // no /proc (not Linux), or the process is gone: isAlive() decides
        }
    }

    /** Polls until the process is no longer running; true when it ended within the timeout. */
    static boolean awaitExit(ProcessHandle process, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (isRunning(process)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            EmbeddedStack.sleep(100);
        }
        return true;
    }

    /** Sends a named signal (INT, QUIT, ...) that {@link ProcessHandle} cannot send, with the system's kill. */
    static void signal(ProcessHandle process, String signal) {
        try {
            new ProcessBuilder("kill", "-s", signal, Long.toString(process.pid()))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start().waitFor();
        } catch (IOException e) {
            process.destroy();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops a process that is not our child: a polite signal first, SIGKILL when it is still there after the grace. */
    static void stop(ProcessHandle process, String signal, Duration grace) {
        signal(process, signal);
        if (!awaitExit(process, grace)) {
            process.destroyForcibly();
            awaitExit(process, Duration.ofSeconds(10));
        }
    }

    /** The command line for messages, shortened. */
    static String describe(ProcessHandle process) {
        ProcessHandle.Info info = process.info();
        String text = info.commandLine().or(info::command).orElse("command unknown");
        return text.length() > 200 ? text.substring(0, 200) + " ..." : text;
    }

    /** The live process with this pid, when it is still the one that started at startMillis (pids are reused). */
    static Optional<ProcessHandle> sameProcess(long pid, long startMillis) {
        return ProcessHandle.of(pid)
                .filter(Processes::isRunning)
                .filter(process -> process.info().startInstant().map(t -> t.toEpochMilli() == startMillis).orElse(false));
    }

    static long startMillis(ProcessHandle process) {
        return process.info().startInstant().map(t -> t.toEpochMilli()).orElse(0L);
    }
}
