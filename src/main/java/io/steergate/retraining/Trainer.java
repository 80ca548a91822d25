package io.steergate.retraining;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.training.Lineas;
import io.steergate.intervention.RegistryError;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * Runs one retraining job end to end: claim (RUNNING), fit on the trainer's model with progress every few LinEAS
 * steps, then store the map as a candidate version (promoted if asked) and mark the job SUCCEEDED, or mark it FAILED
 * with a one-line error. Never throws: the listener acks the record whatever happened.
 */
@ApplicationScoped
public class Trainer {

    private static final Logger LOG = Logger.getLogger(Trainer.class);

    @Inject
    RetrainingService jobs;

    @Inject
    TrainerModel model;

    @Inject
    RetrainingConfig config;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry metrics;

    /** Trains job {@code id} if it is this trainer's to run (see {@link RetrainingService#claim}). */
    public void train(UUID id) {
        Optional<Claim> claimed;
        try {
            claimed = jobs.claim(id);
        } catch (RuntimeException e) {
            LOG.errorf(e, "retraining job %s not started: claiming it failed", id);
            count("unclaimed");
            return;
        }
        if (claimed.isEmpty()) {
            count("skipped");
            return;
        }
        Timer.Sample sample = Timer.start(metrics);
        String outcome = run(claimed.get());
        sample.stop(metrics.timer("steergate.retraining.training", "method", claimed.get().method(), "outcome", outcome));
        count(outcome);
    }

    private String run(Claim job) {
        try {
            AtomicBoolean owned = new AtomicBoolean(true);
            AtomicReference<String> progress = new AtomicReference<>();
            int steps = job.hyperparameters().steps();
            Fitter.Fitted fitted = Fitter.fit(model.model(), job, p -> {
                if (p.step() % config.progressEvery() == 0 || p.step() == steps) {
                    progress.set(write(progress(p, steps)));
                    owned.set(jobs.heartbeat(job, progress.get()));
                }
            }, () -> !owned.get());
            Optional<Integer> version = fitted.cancelled() ? Optional.empty()
                    : jobs.succeed(job, InterventionFile.write(fitted.intervention()), write(fitted.metrics()), progress.get());
            if (version.isEmpty()) {
                LOG.warnf("retraining job %s attempt %d dropped: a later attempt owns the job", job.id(), job.attempt());
                return "superseded";
            }
            LOG.infof("retraining job %s succeeded: %s version %d%s, %s", job.id(), job.intervention(), version.get(),
                    job.promote() ? " (promoted)" : " (candidate)", fitted.metrics());
            return "succeeded";
        } catch (RegistryError | IllegalArgumentException | UncheckedIOException e) {
            // Expected refusals (registry, sites or prompts that do not fit the model, no model): no stack trace.
            fail(job, oneLine(e.getMessage()));
            LOG.warnf("retraining job %s failed: %s", job.id(), oneLine(e.getMessage()));
        } catch (RuntimeException e) {
            fail(job, oneLine(e.getClass().getSimpleName() + ": " + e.getMessage()));
            LOG.errorf(e, "retraining job %s failed unexpectedly", job.id());
        }
        return "failed";
    }

    /** A FAILED mark is retried briefly: a job left RUNNING is restarted only on a redelivery, which may never come. */
    private void fail(Claim job, String error) {
        for (int attempt = 1; ; attempt++) {
            try {
                jobs.fail(job, error);
                return;
            } catch (RuntimeException e) {
                if (attempt == 3) {
                    LOG.errorf("retraining job %s could not be marked FAILED (%s): it stays RUNNING", job.id(), e.getMessage());
                    return;
                }
                try {
                    Thread.sleep(1000L * attempt);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private static Map<String, Object> progress(Lineas.Progress p, int steps) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("step", p.step());
        out.put("steps", steps);
        out.put("loss", Double.isFinite(p.loss()) ? p.loss() : null);
        out.put("learningRate", p.learningRate());
        out.put("activeNeurons", p.activeNeurons());
        out.put("activeSites", p.activeSites());
        out.put("skipped", p.skipped());
        return out;
    }

    private void count(String outcome) {
        metrics.counter("steergate.retraining.jobs", "outcome", outcome).increment();
    }

    private String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("progress and metrics are plain maps and always serialise", e);
        }
    }

    private static String oneLine(String message) {
        String text = message == null ? "no message" : message.strip();
        int newline = text.indexOf('\n');
        return newline < 0 ? text : text.substring(0, newline);
    }
}
