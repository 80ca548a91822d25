package io.steergate.retraining;

import io.quarkus.runtime.ShutdownEvent;
import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.LlamaModel;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The trainer's own copy of the model ({@code steergate.model.dir}), loaded on the first job rather than at start, so
 * a trainer that never gets a job never holds it. It never downloads: a worker fetches the model when configured to.
 */
@ApplicationScoped
public class TrainerModel {

    private static final Logger LOG = Logger.getLogger(TrainerModel.class);

    @ConfigProperty(name = "steergate.model.dir", defaultValue = "../shared/models/stories260K")
    Path dir;

    @ConfigProperty(name = "steergate.model.device", defaultValue = "auto")
    String device;

    private LlamaModel model;

    /**
     * The loaded model.
     *
     * @throws UncheckedIOException when the directory holds no readable model
     */
    public synchronized LlamaModel model() {
        if (model == null) {
            // Same rule as the worker: the native jar carries libtorch, DJL must not fetch an engine at run time.
            if (System.getProperty("ai.djl.offline") == null && System.getenv("DJL_OFFLINE") == null) {
                System.setProperty("ai.djl.offline", "true");
            }
            Path path = dir.toAbsolutePath().normalize();
            long start = System.nanoTime();
            try {
                model = LlamaModel.load(path, DeviceChoice.parse(device));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot load the model from " + path + ": " + e.getMessage(), e);
            }
            LOG.infof("trainer model %s (%s) loaded from %s in %d ms", model.name(), model.fingerprint(), path,
                    (System.nanoTime() - start) / 1_000_000);
        }
        return model;
    }

    synchronized void close(@Observes ShutdownEvent event) {
        if (model != null) {
            model.close();
            model = null;
        }
    }
}
