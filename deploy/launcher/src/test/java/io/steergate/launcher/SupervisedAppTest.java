package io.steergate.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The supervisor restarts the application when it exits and when it stops being live; a stub answers the health checks. */
class SupervisedAppTest {

    private final List<ProcessHandle> started = new ArrayList<>();
    private SupervisedApp app;

    @AfterEach
    void stop() {
        if (app != null) {
            app.stop();
        }
    }

    @Test
    void restartsAnApplicationThatExits() throws Exception {
        app = supervise("live", Duration.ofSeconds(60));
        ProcessHandle first = started.get(0);
        first.destroyForcibly();

        ProcessHandle second = awaitRestart(first);
        assertTrue(second.isAlive());
        assertEquals(2, started.size());
    }

    @Test
    void restartsAnApplicationThatStaysNotLive() throws Exception {
        app = supervise("not-live", Duration.ofSeconds(2));
        ProcessHandle first = started.get(0);

        awaitRestart(first);
        assertFalse(first.isAlive(), "the process that was not live is stopped");
    }

    private SupervisedApp supervise(String liveness, Duration livenessTimeout) throws Exception {
        int port = PostgresTest.freePort();
        ProcessBuilder stub = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), HealthStub.class.getName(), String.valueOf(port), liveness)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        SupervisedApp supervised = new SupervisedApp(stub, "http://127.0.0.1:" + port, Duration.ofSeconds(60),
                livenessTimeout, started::add);
        supervised.start();
        assertTrue(supervised.awaitFirstReady(() -> false), "the stub answers ready");
        return supervised;
    }

    private ProcessHandle awaitRestart(ProcessHandle previous) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (true) {
            app.check();
            ProcessHandle current = app.process();
            if (current != null && current.pid() != previous.pid()) {
                return current;
            }
            if (System.nanoTime() > deadline) {
                fail("the application (pid " + previous.pid() + ") was not restarted within a minute");
            }
            Thread.sleep(200);
        }
    }
}
