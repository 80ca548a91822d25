package io.steergate.cli;

import io.steergate.engine.eval.Evaluation;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SiteSpec;
import io.steergate.engine.training.Fit;
import io.steergate.engine.training.FitOptions;
import io.steergate.engine.training.LinearAct;
import io.steergate.engine.training.Lineas;
import io.steergate.engine.training.LineasFit;
import io.steergate.engine.training.LineasOptions;
import io.steergate.engine.training.MeanShift;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
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

    /** The estimators {@code --method} names. */
    enum Method {
        LINEAR_ACT("linear-act"), MEAN_SHIFT("mean-shift"), LINEAS("lineas");

        final String cliName;

        Method(String cliName) {
            this.cliName = cliName;
        }

        static Method parse(String s) {
            for (Method m : values()) {
                if (m.cliName.equals(s)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("unknown method '" + s + "'; expected linear-act, mean-shift or lineas");
        }
    }

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "the model directory")
    Path model;

    @Option(names = "--method", required = true, paramLabel = "METHOD",
            description = "linear-act, mean-shift or lineas")
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

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N",
            description = "seed of the count-equalizing subsample (and of LinEAS); default ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--targets-through-earlier-maps",
            description = "collect targets through the maps fitted so far (the reference's incr mode)")
    boolean targetsThroughEarlierMaps;

    @Option(names = "--steps", defaultValue = "300", paramLabel = "N", description = "LinEAS steps")
    int steps;

    @Option(names = "--lr", defaultValue = "0.01", paramLabel = "X", description = "LinEAS learning rate")
    double lr;

    @Option(names = "--l1", defaultValue = "0", paramLabel = "X", description = "LinEAS L1 weight")
    double l1;

    @Option(names = "--group", defaultValue = "0", paramLabel = "X", description = "LinEAS group-lasso weight")
    double group;

    @Override
    public Integer call() throws Exception {
        Method m;
        try {
            m = Method.parse(method);
        } catch (IllegalArgumentException e) {
            throw SteerCli.badArgument(spec, "--method: " + e.getMessage());
        }
        List<String> src = readPrompts("--source", source);
        List<String> dst = readPrompts("--target", target);
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
            long t0 = System.nanoTime();
            Intervention iv;
            String detail;
            if (m == Method.LINEAS) {
                LineasOptions options = new LineasOptions(name, concept, siteList, steps, lr, 32, l1, group, seed);
                PrintWriter err = spec.commandLine().getErr();
                LineasFit fit = Lineas.train(llama, src, dst, options, progress -> {
                    if (progress.step() % 50 == 0) {
                        err.printf(Locale.ROOT, "step %d: loss %.5g, lr %.2g, active %d neurons / %d sites%n", progress.step(),
                                progress.loss(), progress.learningRate(), progress.activeNeurons(), progress.activeSites());
                        err.flush();
                    }
                }, () -> false);
                iv = fit.intervention();
                detail = String.format(Locale.ROOT, "%d steps, loss %.5g -> %.5g (%.0f%% lower), %d skipped",
                        fit.stepsRun(), fit.initialLoss(), fit.finalLoss(), 100 * (1 - fit.finalLoss() / fit.initialLoss()),
                        fit.skippedSteps());
            } else {
                FitOptions options = FitOptions.of(name, concept, siteList).withSeed(seed)
                        .withTargetsThroughEarlierMaps(targetsThroughEarlierMaps);
                Fit fit = m == Method.LINEAR_ACT ? LinearAct.fit(llama, src, dst, options)
                        : MeanShift.fit(llama, src, dst, options);
                iv = fit.intervention();
                detail = String.format(Locale.ROOT, "%d source / %d target prompts, %d per side, collect %d ms, "
                        + "fit %d ms", fit.sourcePrompts(), fit.targetPrompts(), fit.samplesPerSide(),
                        fit.collectMillis(), fit.fitMillis());
            }
            long millis = (System.nanoTime() - t0) / 1_000_000;
            InterventionFile.write(iv, out);
            o.printf(Locale.ROOT, "fitted '%s' (%s) at %d sites in %d ms: %s%n", iv.name(), iv.method(),
                    iv.maps().size(), millis, detail);
            Evaluation.Sparsity sp = Evaluation.Sparsity.of(iv);
            o.printf(Locale.ROOT, "active neurons %d/%d, active sites %d/%d%n", sp.activeNeurons(), sp.neurons(),
                    sp.activeSites(), sp.sites());
            o.printf("%-20s %10s %10s %10s%n", "site", "mean w", "mean|w-1|", "mean|b|");
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
                o.printf(Locale.ROOT, "%-20s %10.4f %10.4f %10.4f%n", e.getKey().name(), w / d, dw / d, b / d);
            }
            o.printf("wrote %s (%d bytes)%n", out, Files.size(out));
            o.flush();
        }
        return 0;
    }

    private List<String> readPrompts(String option, Path file) throws java.io.IOException {
        SteerCli.existingFile(spec, option, file);
        try {
            List<String> texts = PromptSet.read(file).texts();
            if (texts.isEmpty()) {
                throw SteerCli.badArgument(spec, option + " " + file + " holds no prompts");
            }
            return texts;
        } catch (IllegalArgumentException e) {
            throw SteerCli.badArgument(spec, option + " " + file + ": " + e.getMessage());
        }
    }
}
