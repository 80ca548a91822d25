package io.steergate.cli;

import io.steergate.engine.eval.Evaluation;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.ActivationCollector.Pooling;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SiteSpec;
import io.steergate.engine.training.InterventionMethod;
import io.steergate.engine.training.InterventionMethods;
import io.steergate.engine.training.JointGates;
import io.steergate.engine.training.LineasOptions;
import io.steergate.engine.training.Proximal;
import io.steergate.engine.training.TrainingSettings;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code steer fit}: fits an intervention from source and target prompt sets and writes it as safetensors. */
@Command(name = "fit", mixinStandardHelpOptions = true,
        description = "Fit an intervention mapping source activations onto target ones; write it as .safetensors.")
final class FitCommand implements Callable<Integer> {

    /** The wire names of the registered methods, for {@code --method}'s help. */
    static final class MethodNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return InterventionMethods.all().stream().map(InterventionMethod::wireName).iterator();
        }
    }

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "the model directory")
    Path model;

    @Option(names = "--method", required = true, paramLabel = "METHOD", completionCandidates = MethodNames.class,
            description = "one of ${COMPLETION-CANDIDATES}")
    String method;

    @Option(names = "--source", required = true, paramLabel = "FILE.jsonl",
            description = "prompts showing the behaviour to remove")
    Path source;

    @Option(names = "--target", required = true, paramLabel = "FILE.jsonl",
            description = "prompts showing the desired behaviour")
    Path target;

    @Option(names = "--sites", defaultValue = SiteSpec.DEFAULT, paramLabel = "SPEC",
            description = "default ${DEFAULT-VALUE}; e.g. attn_norm,mlp_norm, layers.0-2.resid or layers.3.mlp_out")
    String sites;

    @Option(names = "--name", required = true, paramLabel = "NAME", description = "the intervention's name")
    String name;

    @Option(names = "--concept", defaultValue = "", paramLabel = "C", description = "what it steers (free text)")
    String concept;

    @Option(names = "--out", required = true, paramLabel = "FILE.safetensors", description = "where to write it")
    Path out;

    // Hyperparameters left out come from the method's defaults (InterventionMethod#defaults).
    @Option(names = "--seed", paramLabel = "N",
            description = "seed of the count-equalizing subsample (and of LinEAS); default: the method's")
    Long seed;

    @Option(names = "--targets-through-earlier-maps",
            description = "collect targets through the maps fitted so far (the reference's incr mode)")
    boolean targetsThroughEarlierMaps;

    @Option(names = "--steps", paramLabel = "N", description = "LinEAS steps")
    Integer steps;

    @Option(names = "--lr", paramLabel = "X", description = "LinEAS learning rate")
    Double lr;

    @Option(names = "--batch", paramLabel = "N",
            description = "LinEAS source prompts per step, at least 4; at least as many as the source prompts: every "
                    + "prompt at every step, the full batch the paper trains with (EVALUATION.md, session 22)")
    Integer batch;

    @Option(names = "--l1", paramLabel = "X", description = "LinEAS L1 weight")
    Double l1;

    @Option(names = "--group", paramLabel = "X", description = "LinEAS group-lasso weight")
    Double group;

    @Option(names = "--held-out", paramLabel = "X",
            description = "LinEAS share of the prompts held out to measure held-out W1 (0 to 0.5)")
    Double heldOut;

    @Option(names = "--patience", paramLabel = "N",
            description = "LinEAS with --held-out: stop after N steps without a better held-out W1, keep the best maps")
    Integer patience;

    @Option(names = "--pooling", defaultValue = "mean", paramLabel = "P",
            description = "what each prompt gives the fit: mean (its tokens' mean, as published; default) or last (its "
                    + "last token's activation, for prompts cut just before the model chooses; EVALUATION.md)")
    String pooling;

    @Option(names = "--prox-metric", defaultValue = "lr", paramLabel = "M",
            description = "LinEAS: the group-lasso step's metric: lr (as published; default), adam (in Adam's own "
                    + "metric, so --group compares with each site's gradients; EVALUATION.md, session 19) or "
                    + "adam-relative (adam, with each site's shifts in units of its activation spread; session 21)")
    String proxMetric;

    @Option(names = "--last-site-loss",
            description = "LinEAS: take the loss and the held-out checks at the last site only, so earlier sites' maps "
                    + "train through their effect there (experimental; EVALUATION.md, session 20)")
    boolean lastSiteLoss;

    @Option(names = "--control", paramLabel = "FILE.jsonl",
            description = "LinEAS: train a token gate with each map (end-to-end DSAS), keeping these prompts' tokens "
                    + "unmoved (e.g. the target prompts)")
    Path control;

    @Option(names = "--control-weight", paramLabel = "X",
            description = "with --control: weight of the control prompts' squared displacement; default 1")
    Double controlWeight;

    @Override
    public Integer call() throws Exception {
        InterventionMethod m;
        try {
            m = InterventionMethods.byWireName(method);
        } catch (IllegalArgumentException e) {
            throw SteerCli.badArgument(spec, "--method: " + e.getMessage());
        }
        if (batch != null && batch < LineasOptions.MIN_BATCH) {
            throw SteerCli.badArgument(spec, "--batch: must be at least " + LineasOptions.MIN_BATCH + ", got " + batch);
        }
        Pooling poolingChoice = SteerCli.parsed(spec, "--pooling", pooling, Pooling::parse);
        Proximal.Metric metric = SteerCli.parsed(spec, "--prox-metric", proxMetric, Proximal.Metric::parse);
        List<String> src = SteerCli.readPrompts(spec, "--source", source);
        List<String> dst = SteerCli.readPrompts(spec, "--target", target);
        JointGates gates = null;
        if (controlWeight != null && control == null) {
            throw SteerCli.badArgument(spec, "--control-weight needs --control (the prompts the weight applies to)");
        }
        if (control != null) {
            try {
                gates = new JointGates(SteerCli.readPrompts(spec, "--control", control),
                        controlWeight == null ? 1 : controlWeight);
            } catch (IllegalArgumentException e) {
                throw SteerCli.badArgument(spec, "--control-weight: " + e.getMessage());
            }
        }
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw SteerCli.badArgument(spec, "--out " + out + ": no such directory " + parent);
        }
        try (LlamaModel llama = SteerCli.loadModel(spec, model)) {
            List<HookSite> siteList;
            try {
                siteList = SiteSpec.parse(sites, llama.config().nLayers());
            } catch (IllegalArgumentException e) {
                throw SteerCli.badArgument(spec, "--sites: " + e.getMessage());
            }
            PrintWriter o = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            long t0 = System.nanoTime();
            InterventionMethod.Trained fit = m.fit(llama, src, dst, new InterventionMethod.Request(name, concept,
                    siteList, settings(m.defaults(), poolingChoice, metric), gates), progress -> {
                        if (progress.step() % 50 == 0) {
                            err.printf(Locale.ROOT, "step %d: loss %.5g, lr %.2g, active %d neurons / %d sites%n",
                                    progress.step(), progress.loss(), progress.learningRate(), progress.activeNeurons(),
                                    progress.activeSites());
                            err.flush();
                        }
                    }, () -> false);
            Intervention iv = fit.intervention();
            long millis = (System.nanoTime() - t0) / 1_000_000;
            InterventionFile.write(iv, out);
            o.printf(Locale.ROOT, "fitted '%s' (%s) at %d sites in %d ms: %s%n", iv.name(), iv.method(),
                    iv.maps().size(), millis, fit.summary());
            Evaluation.Sparsity sp = Evaluation.Sparsity.of(iv);
            o.printf(Locale.ROOT, "active neurons %d/%d, active sites %d/%d%n", sp.activeNeurons(), sp.neurons(),
                    sp.activeSites(), sp.sites());
            boolean gated = iv.maps().values().stream().anyMatch(AffineMap::isGated);
            o.printf("%-20s %10s %10s %10s%s%n", "site", "mean w", "mean|w-1|", "mean|b|",
                    gated ? String.format(Locale.ROOT, " %10s", "gate bias") : "");
            for (Map.Entry<HookSite, AffineMap> e : iv.maps().entrySet()) {
                double w = 0;
                double dw = 0;
                double b = 0;
                AffineMap map = e.getValue();
                for (int i = 0; i < map.width(); i++) {
                    w += map.omega()[i];
                    dw += Math.abs(map.omega()[i] - 1);
                    b += Math.abs(map.beta()[i]);
                }
                int d = map.width();
                o.printf(Locale.ROOT, "%-20s %10.4f %10.4f %10.4f%s%n", e.getKey().name(), w / d, dw / d, b / d,
                        map.isGated() ? String.format(Locale.ROOT, " %10.4f", map.gateBias()) : "");
            }
            o.printf("wrote %s (%d bytes)%n", out, Files.size(out));
            o.flush();
        }
        return 0;
    }

    /** The options given, each left out taken from {@code defaults}. */
    private TrainingSettings settings(TrainingSettings defaults, Pooling poolingChoice, Proximal.Metric metric) {
        TrainingSettings s = defaults.withPooling(poolingChoice).withProxMetric(metric).withLastSiteLoss(lastSiteLoss);
        s = targetsThroughEarlierMaps ? s.withTargetsThroughEarlierMaps(true) : s;
        s = steps == null ? s : s.withSteps(steps);
        s = lr == null ? s : s.withLearningRate(lr);
        s = batch == null ? s : s.withBatchSize(batch);
        s = l1 == null ? s : s.withL1(l1);
        s = group == null ? s : s.withGroupLasso(group);
        s = heldOut == null ? s : s.withHeldOut(heldOut);
        s = patience == null ? s : s.withPatience(patience);
        return seed == null ? s : s.withSeed(seed);
    }
}
