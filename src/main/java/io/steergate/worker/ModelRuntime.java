package io.steergate.worker;

import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.Generator;
import io.steergate.engine.model.LlamaConfig;
import io.steergate.engine.model.DecodePath;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.model.ModelFiles;
import io.steergate.messages.ModelRef;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/** The served model, loaded once per worker process (and fetched first if configured to and absent). */
@ApplicationScoped
public class ModelRuntime implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ModelRuntime.class);

    private volatile LlamaModel model;
    private volatile DecodePath decodePath = DecodePath.AUTO;
    private volatile Generator generator;

    synchronized void load(ModelConfig config) throws IOException, InterruptedException {
        if (model != null) {
            return;
        }
        Path dir = config.dir().toAbsolutePath().normalize();
        if (!holdsModel(dir)) {
            if (!config.download()) {
                throw new IllegalStateException("no model (config.json or a llama2.c *.bin) in " + dir + " and steergate.model.download=false");
            }
            LOG.infof("%s absent in %s: downloading it from %s", ModelFiles.CHECKPOINT, dir, ModelFiles.SOURCE);
            Files.createDirectories(dir);
            ModelFiles.download(dir, HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).build());
        }
        // The native jar carries libtorch: never let DJL try to download an engine at run time unless told to.
        if (System.getProperty("ai.djl.offline") == null && System.getenv("DJL_OFFLINE") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        long start = System.nanoTime();
        LlamaModel loaded = LlamaModel.load(dir, DeviceChoice.parse(config.device()));
        if (config.decodePath() == DecodePath.LOOPS && loaded.device().isGpu()) {
            loaded.close();
            throw new IllegalStateException("steergate.model.decode-path=loops runs on the CPU; the model is on "
                    + loaded.device() + ": use auto or ndarray, or steergate.model.device=cpu");
        }
        model = loaded;
        decodePath = config.decodePath();
        generator = new Generator(model, decodePath);
        String loopKernels = model.loopKernels();
        String kernels = loopKernels.isEmpty() ? "" : ", CPU kernels " + loopKernels;
        LOG.infof("model %s (%s) loaded from %s on %s in %d ms, decode path %s%s", model.name(), model.fingerprint(),
                dir, model.device(), (System.nanoTime() - start) / 1_000_000, decodePath, kernels);
    }

    /** A Hugging Face directory (config.json) or a llama2.c checkpoint (a *.bin other than tok*.bin). */
    private static boolean holdsModel(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(file -> file.getFileName().toString())
                    .anyMatch(name -> name.equals("config.json") || (name.endsWith(".bin") && !name.startsWith("tok")));
        }
    }

    public boolean loaded() {
        return generator != null;
    }

    /** Where this worker's generation runs (steergate.model.decode-path). */
    public DecodePath decodePath() {
        return decodePath;
    }

    public Generator generator() {
        return generator;
    }

    /** The loaded model itself: probe scorers are trained on it. */
    public LlamaModel model() {
        return model;
    }

    public ModelRef ref() {
        return new ModelRef(model.name(), model.fingerprint());
    }

    public LlamaConfig config() {
        return model.config();
    }

    @Override
    public synchronized void close() {
        if (model != null) {
            model.close();
            model = null;
            generator = null;
        }
    }
}
