package io.steergate.testing;

import io.steergate.engine.model.DeviceChoice;
import io.steergate.engine.model.LlamaModel;
import io.steergate.kafka.JobTopics;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The model every test runs on: stories260K from {@code steergate.model.dir} (surefire and failsafe set it in pom.xml,
 * which is also what a {@code @QuarkusTest}'s application reads), else {@code ../shared/models/stories260K} for a test
 * started outside Maven.
 */
public final class TestModel {

    /** Its job topic, named where the application names it. */
    public static final String JOBS_TOPIC = JobTopics.name(JobTopics.DEFAULT_PREFIX, "stories260K");

    private TestModel() {}

    public static Path dir() {
        return Path.of(System.getProperty("steergate.model.dir", "../shared/models/stories260K"));
    }

    /** Loaded on the CPU, as every test that is not about device choice wants it; the caller closes it. */
    public static LlamaModel load() throws IOException {
        return LlamaModel.load(dir(), DeviceChoice.CPU);
    }
}
