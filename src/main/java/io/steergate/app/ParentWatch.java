package io.steergate.app;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Shuts the application down when the process named by {@code steergate.exit-with-pid} is gone. The embedded
 * default's launcher (deploy/) sets it to its own pid: a child process outlives a JVM killed with SIGKILL, and an
 * orphaned application would keep its port and answer the next launcher's readiness check.
 */
@ApplicationScoped
public class ParentWatch {

    private static final Logger LOG = Logger.getLogger(ParentWatch.class);

    @ConfigProperty(name = "steergate.exit-with-pid")
    Optional<Long> exitWithPid;

    void start(@Observes StartupEvent event) {
        exitWithPid.ifPresent(pid -> ProcessHandle.of(pid).ifPresentOrElse(
                parent -> parent.onExit().thenRun(() -> exit(pid)),
                () -> exit(pid)));
    }

    private static void exit(long pid) {
        LOG.infof("process %d (steergate.exit-with-pid) is gone; shutting down", pid);
        Quarkus.asyncExit();
    }
}
