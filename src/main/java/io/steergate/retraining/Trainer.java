package io.steergate.retraining;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.training.Lineas;
import io.steergate.intervention.InterventionRegistry;
import io.steergate.messages.ApiError;
import io.steergate.messages.SafeText;
import io.steergate.resilience.Failures;
import io.steergate.resilience.Retry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * Runs one retraining job end to end: claim (RUNNING), fit on the trainer's model with progress every few LinEAS
 * steps and the heartbeat refreshed through every activation collection, measure the candidate with the evaluation
 * gate ({@link GateRule}) when the job has an evaluation, then store
 * the map as a candidate version with the verdict (promoted if asked and PASSED) and mark the job SUCCEEDED, or mark it FAILED
 * with a one-line error. Every database step goes through {@link Retry#untilDone}: an outage pauses the job rather
 * than losing it, so {@link #train} returns only when the job is finished, known to be someone else's, or left to
 * the recovery sweep ({@link RetrainingService#recover}) after a permanent failure that could not even be recorded.
 * Never throws: the listener acks the record once it returns.
 */
@ApplicationScoped
public class Trainer {

    private static final Logger LOG = Logger.getLogger(Trainer.class);
    /** Stored errors are one line of at most this many characters. */
    static final int ERROR_CHARS = 2000;
    /**
     * Heartbeats per stale-after during the collection passes and the gate: a few missed ones (a slow batch, a short
     * outage) are no restart.
     */
    static final int HEARTBEATS_PER_STALE = 5;

    /** Ends a fit or a gate evaluation whose job a later attempt owns now (its heartbeat was refused). */
    private static final class Superseded extends RuntimeException {
        Superseded() {
            super("a later attempt owns the job", null, false, false);
        }
    }

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

    @Inject
    GateConfig gateConfig;

    @Inject
    GateSpecs gateSpecs;

    @Inject
    InterventionRegistry registry;

    /** Trains job {@code id} if it is this trainer's to run (see {@link RetrainingService#claim}). */
    public void train(UUID id) {
        Optional<Claim> claimed;
        try {
            claimed = Retry.untilDone("claiming retraining job " + id, () -> jobs.claim(id));
        } catch (Retry.PermanentFailure e) {
            abandon(id, oneLine("not started: " + reason(e)));
            count("failed");
            return;
        } catch (IllegalStateException e) {
            // Retry throws this only when interrupted (shutdown): the job is still QUEUED, for the sweep
            LOG.warnf("retraining job %s not claimed: %s; the recovery sweep takes it up", id, e.getMessage());
            count("interrupted");
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
        String what = "retraining job " + job.id() + " attempt " + job.attempt();
        try {
            AtomicBoolean owned = new AtomicBoolean(true);
            AtomicReference<String> progress = new AtomicReference<>();
            LossHistory losses = new LossHistory();
            int steps = job.hyperparameters().steps();
            // a closed-form fit, token gates and the transport measure are collection passes with no steps to report:
            // on a large set they outlast stale-after, so each batch of them, and each LinEAS step, refreshes the
            // heartbeat (throttled to a fifth of stale-after)
            Runnable heartbeat = heartbeat(job, what, progress, owned);
            Fitter.Fitted fitted = Fitter.fit(model.model(), job, p -> {
                losses.add(p.step(), p.loss());
                if (p.step() % config.progressEvery() == 0 || p.step() == steps) {
                    progress.set(write(progress(p, steps)));
                    String history = losses.isEmpty() ? null : write(losses.points());
                    owned.set(Retry.untilDone("recording progress of " + what, () -> jobs.heartbeat(job, progress.get(), history)));
                } else {
                    // the steps between records may together outlast stale-after (a large batch of long prompts)
                    heartbeat.run();
                }
            }, () -> !owned.get(), heartbeat);
            Optional<Integer> version = Optional.empty();
            if (!fitted.cancelled()) {
                LOG.infof("retraining job %s fitted: %s", job.id(), fitted.metrics());
                GateEvaluation.Outcome gate = null;
                if (job.evaluation() != null) {
                    // the evaluation takes as long as a short training: refresh the heartbeat before and during it (a
                    // gate longer than stale-after would otherwise be taken for a dead trainer and started again), and
                    // stop if the job moved on
                    owned.set(Retry.untilDone("recording progress of " + what, () -> jobs.heartbeat(job, progress.get())));
                    gate = owned.get() ? evaluate(job, fitted, heartbeat) : null;
                }
                if (owned.get()) {
                    byte[] mapFile = InterventionFile.write(fitted.intervention());
                    String metricsJson = write(fitted.metrics());
                    GateEvaluation.Outcome outcome = gate;
                    version = Retry.untilDone("storing the result of " + what,
                            () -> jobs.succeed(job, mapFile, metricsJson, progress.get(), outcome));
                }
            }
            if (version.isEmpty()) {
                return dropped(what);
            }
            LOG.infof("retraining job %s succeeded: %s version %d", job.id(), job.intervention(), version.get());
            return "succeeded";
        } catch (Superseded e) {
            return dropped(what);
        } catch (RuntimeException e) {
            if (Thread.currentThread().isInterrupted()) {
                // shutting down: not the job's fault; the sweep restarts it once its heartbeat is stale
                LOG.warnf("%s interrupted: %s; the recovery sweep restarts it", what, Failures.rootMessage(e));
                return "interrupted";
            }
            String error = oneLine(reason(e));
            if (expected(unwrap(e))) {
                LOG.warnf("retraining job %s failed: %s", job.id(), error);
            } else {
                LOG.errorf(unwrap(e), "retraining job %s failed unexpectedly", job.id());
            }
            fail(job, error);
            return "failed";
        }
    }

    /**
     * The evaluation gate: the candidate against the active version read now (or the unsteered model), one log line
     * before and one after (numbers only, never prompts), and {@code steergate.retraining.gate} timed by outcome.
     */
    private GateEvaluation.Outcome evaluate(Claim job, Fitter.Fitted fitted, Runnable heartbeat) {
        Optional<Integer> active = Retry.untilDone("reading the active version of " + job.intervention(),
                () -> registry.activeVersion(job.intervention()));
        GateEvaluation.Baseline baseline = active.map(v -> new GateEvaluation.Baseline(v, InterventionFile.read(
                Retry.untilDone("reading " + job.intervention() + " version " + v,
                        () -> registry.mapFile(job.intervention(), v))))).orElse(null);
        String fingerprint = model.model().fingerprint();
        if (baseline != null && !baseline.intervention().modelFingerprint().equals(fingerprint)) {
            // After a model upgrade the active version was made for the old weights: it cannot run on this model (the
            // sweep would refuse it after the whole training, every time), and no worker of this model serves it, so
            // what the candidate must beat here is the unsteered model.
            LOG.infof("retraining job %s: active version %d of %s was made for model %s, not %s; gating against the"
                    + " unsteered model", job.id(), active.get(), job.intervention(),
                    baseline.intervention().modelFingerprint(), fingerprint);
            baseline = null;
        }
        LOG.infof("retraining job %s evaluating: candidate vs %s on prompt set %s (%d prompts), concept %s, strength %s,"
                + " %d generations", job.id(), baseline == null ? "the unsteered model" : "active version " + active.get(),
                job.evaluation().prompts(), job.heldOut().size(), job.evaluation().concept(),
                job.evaluation().strength(), gateConfig.generations());
        Timer.Sample sample = Timer.start(metrics);
        GateEvaluation.Outcome outcome = GateEvaluation.measure(model.model(), job, fitted.intervention(), baseline,
                gateConfig, gateSpecs, heartbeat).replacing(active.orElse(null));
        String verdict = outcome.decision().verdict().name();
        sample.stop(metrics.timer("steergate.retraining.gate", "outcome", verdict.toLowerCase(Locale.ROOT)));
        GateRule.Decision d = outcome.decision();
        LOG.infof("retraining job %s gate %s: %s", job.id(), verdict, d.reasons().isEmpty()
                ? String.format(Locale.ROOT, "concept difference %+.1f points (95%% interval up to %+.1f),"
                        + " perplexity ratio %.4f", 100 * d.difference(), 100 * d.differenceHigh(), d.perplexityRatio())
                : String.join("; ", d.reasons()));
        return outcome;
    }

    /**
     * The progress point of the collection passes and the gate: refreshes the job's heartbeat when a fifth of
     * stale-after has passed since the last one; when a later attempt owns the job, clears {@code owned} and throws
     * {@link Superseded}, which ends the fit or the evaluation.
     */
    private Runnable heartbeat(Claim job, String what, AtomicReference<String> progress, AtomicBoolean owned) {
        long everyNanos = config.staleAfter().toNanos() / HEARTBEATS_PER_STALE;
        long[] last = {System.nanoTime()};
        return () -> {
            if (System.nanoTime() - last[0] < everyNanos) {
                return;
            }
            owned.set(Retry.untilDone("recording progress of " + what, () -> jobs.heartbeat(job, progress.get())));
            last[0] = System.nanoTime();
            if (!owned.get()) {
                throw new Superseded();
            }
        };
    }

    /** A run whose job a later attempt took over: nothing of it is stored. */
    private static String dropped(String what) {
        LOG.warnf("%s dropped: a later attempt owns the job", what);
        return "superseded";
    }

    /** Marks the claimed job FAILED; if even that fails for good, the sweep finds it stale and takes it up. */
    private void fail(Claim job, String error) {
        try {
            Retry.untilDone("marking retraining job " + job.id() + " FAILED", () -> jobs.fail(job, error));
        } catch (RuntimeException e) {
            LOG.errorf("retraining job %s could not be marked FAILED (%s): it stays RUNNING until the recovery sweep "
                    + "finds it stale", job.id(), Failures.rootMessage(e));
        }
    }

    /** Marks FAILED a job that could not be claimed; if even that fails, the sweep finds it QUEUED and re-queues it. */
    private void abandon(UUID id, String error) {
        try {
            if (Retry.untilDone("marking retraining job " + id + " FAILED", () -> jobs.abandon(id, error))) {
                LOG.warnf("retraining job %s failed: %s", id, error);
            }
        } catch (RuntimeException e) {
            LOG.errorf("retraining job %s %s, and marking it FAILED failed too (%s)", id, error, Failures.rootMessage(e));
        }
    }

    /** Refusals the trainer expects (registry, sites or prompts that do not fit the model, no model): no stack trace. */
    private static boolean expected(Throwable e) {
        return e instanceof ApiError || e instanceof IllegalArgumentException || e instanceof UncheckedIOException;
    }

    /** What a permanent failure of a step failed with; anything else as is. */
    private static Throwable unwrap(Throwable e) {
        return e instanceof Retry.PermanentFailure && e.getCause() != null ? e.getCause() : e;
    }

    /** The message an operator reads: an expected refusal's own words, otherwise the type too. */
    private static String reason(Throwable e) {
        Throwable cause = unwrap(e);
        return expected(cause) ? String.valueOf(cause.getMessage())
                : cause.getClass().getSimpleName() + ": " + cause.getMessage();
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

    /** The first line, made {@link SafeText safe} (PostgreSQL refuses NUL) and cut to ERROR_CHARS. */
    static String oneLine(String message) {
        String text = message == null ? "no message" : message.strip();
        int newline = text.indexOf('\n');
        return SafeText.of(newline < 0 ? text : text.substring(0, newline).strip(), ERROR_CHARS);
    }
}
