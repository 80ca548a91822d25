package io.steergate.testing;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Ending a child JVM a test started (the packaged application, a broker): SIGKILL, as a crash would, or SIGTERM with
 * SIGKILL after a grace period; both return once the process is gone.
 */
public final class ChildProcesses {

    private ChildProcesses() {}

    /** SIGKILL of the process and its descendants: no flush, no shutdown hooks. Waits up to {@code timeout}. */
    public static void kill(Process process, Duration timeout, String what) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        // on Unix, Process.destroyForcibly sends SIGKILL (destroy sends SIGTERM)
        process.destroyForcibly();
        awaitExit(process, timeout, what);
    }

    /** SIGTERM, a controlled shutdown; SIGKILL if it takes longer than {@code grace}. */
    public static void stop(Process process, Duration grace, String what) {
        process.destroy();
        try {
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(process, grace, what);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill(process, grace, what);
        }
    }

    private static void awaitExit(Process process, Duration timeout, String what) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException(what + " pid " + process.pid() + " did not exit within " + timeout);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + what + " pid " + process.pid(), e);
        }
    }
}
