package io.steergate.launcher;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A small shell process that stops PostgreSQL and the application when the launcher dies without stopping them
 * (SIGKILL, a crash): it reads the launcher's pipe, and the end of that pipe is the launcher's death. The
 * postmaster daemonizes, so it is no child of the launcher and nothing else would stop it. The launcher tells
 * it the application's pid on every start, and "done" after a clean stop, when there is nothing left to stop.
 */
final class Watchdog implements AutoCloseable {

    // $1: the PostgreSQL data directory. Ignores the terminal's signals (Ctrl-C reaches the whole process group;
    // the launcher then stops everything itself and says "done") and SIGPIPE (nobody may read its output any more).
    private static final String SCRIPT = """
            trap '' HUP INT TERM PIPE
            app=
            while IFS= read -r line; do
              case "$line" in
                "app "*) app=${line#app } ;;
                done) exit 0 ;;
              esac
            done
            pg=
            [ -f "$1/postmaster.pid" ] && pg=$(head -n 1 "$1/postmaster.pid")
            echo "[steergate-watchdog] the launcher is gone; stopping the application (pid ${app:-none}) and PostgreSQL (pid ${pg:-none})"
            [ -n "$app" ] && kill -TERM "$app" 2>/dev/null
            # SIGINT: PostgreSQL's fast shutdown
            [ -n "$pg" ] && kill -INT "$pg" 2>/dev/null
            n=0
            while [ $n -lt 60 ]; do
              left=
              for pid in $app $pg; do kill -0 "$pid" 2>/dev/null && left=1; done
              [ -z "$left" ] && exit 0
              sleep 0.5
              n=$((n + 1))
            done
            echo "[steergate-watchdog] still running after 30 s; killing pid(s) $app $pg"
            for pid in $app $pg; do kill -KILL "$pid" 2>/dev/null; done
            exit 0
            """;

    private final Process process;
    private final OutputStream pipe;

    private Watchdog(Process process) {
        this.process = process;
        this.pipe = process.getOutputStream();
    }

    static Watchdog start(Path postgresDataDir) throws IOException {
        Process process = new ProcessBuilder("/bin/sh", "-c", SCRIPT, "steergate-watchdog",
                postgresDataDir.toAbsolutePath().toString())
                .redirectOutput(ProcessBuilder.Redirect.INHERIT)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        return new Watchdog(process);
    }

    ProcessHandle handle() {
        return process.toHandle();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** The application to stop when the launcher dies. */
    void watchApp(long pid) {
        tell("app " + pid);
    }

    private void tell(String line) {
        try {
            pipe.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
            pipe.flush();
        } catch (IOException e) {
            // the watchdog is gone; the supervisor starts another and tells it again
        }
    }

    /** After a clean stop: nothing is left to stop, the watchdog ends. */
    @Override
    public void close() {
        tell("done");
        try {
            pipe.close();
        } catch (IOException e) {
            // already gone
        }
    }
}
