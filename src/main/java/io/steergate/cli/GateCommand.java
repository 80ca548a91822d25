package io.steergate.cli;

import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.ActivationCollector.Pooling;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.training.TokenGates;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code steer gate}: adds DSAS token gates (arXiv 2512.03661, two-step) to an existing map: per site a logistic
 * regression on pooled clean activations (each prompt's mean, or with {@code --pooling last} its last token) of source
 * (label 1) vs control (label 0) prompts, so that each token is steered at strength lambda times the gate's
 * probability ({@link TokenGates}). A separate command rather than an
 * option of {@code fit}: the gate is fitted on prompts of its own (the control set) and applies to a map of any method.
 */
@Command(name = "gate", mixinStandardHelpOptions = true,
        description = "Add per-token gates (DSAS) to MAP: logistic regression of source vs control prompts per site.")
final class GateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "the model directory")
    Path model;

    @Option(names = "--map", required = true, paramLabel = "FILE", description = "the map to gate (not yet gated)")
    Path map;

    @Option(names = "--source", paramLabel = "FILE.jsonl",
            description = "prompts showing the behaviour to remove: where the gate should open (label 1)")
    Path source;

    @Option(names = "--control", paramLabel = "FILE.jsonl",
            description = "prompts where steering is not needed: where the gate should close (label 0)")
    Path control;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N",
            description = "chooses the held-out prompts; default ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--l2", paramLabel = "X", description = "L2 strength on the standardised weights; default 0.1")
    Double l2;

    @Option(names = "--held-out", paramLabel = "X",
            description = "share of each set held out to report the gate's accuracy (0 to 0.5); default 0.2")
    Double heldOut;

    @Option(names = "--pooling", defaultValue = "mean", paramLabel = "P",
            description = "what each prompt gives the regression: mean (its tokens' mean, as published; default) or "
                    + "last (its last token's activation, for prompts cut just before the model chooses)")
    String pooling;

    @Option(names = "--out", paramLabel = "FILE.safetensors", description = "where to write it")
    Path out;

    @Option(names = "--report", paramLabel = "FILE.jsonl",
            description = "after gating (or, for a MAP already gated, instead): the mean gate per site on these prompts "
                    + "while the map steers at --report-strength; repeatable")
    List<Path> report = new ArrayList<>();

    @Option(names = "--report-strength", defaultValue = "1", paramLabel = "S",
            description = "the strength --report steers at; default ${DEFAULT-VALUE}")
    double reportStrength;

    @Override
    public Integer call() throws Exception {
        Intervention given = SteerCli.readMap(spec, "--map", map);
        boolean alreadyGated = given.maps().values().stream().anyMatch(m -> m.isGated());
        if (alreadyGated && source == null && control == null && out == null) {
            if (report.isEmpty()) {
                throw SteerCli.badArgument(spec, "--map " + map + " is already gated: give --report to measure it");
            }
            try (LlamaModel llama = SteerCli.loadModel(spec, model)) {
                report(SteerCli.readMap(spec, "--map", map, llama), llama);
            }
            return 0;
        }
        if (source == null || control == null || out == null) {
            throw SteerCli.badArgument(spec, "gating a map needs --source, --control and --out");
        }
        Pooling poolingChoice = SteerCli.parsed(spec, "--pooling", pooling, Pooling::parse);
        List<String> src = SteerCli.readPrompts(spec, "--source", source);
        List<String> ctl = SteerCli.readPrompts(spec, "--control", control);
        TokenGates.Options d = TokenGates.Options.defaults();
        TokenGates.Options options;
        try {
            options = new TokenGates.Options(l2 == null ? d.l2() : l2, d.iterations(), d.learningRate(),
                    heldOut == null ? d.heldOut() : heldOut, seed);
        } catch (IllegalArgumentException e) {
            throw SteerCli.badArgument(spec, e.getMessage());
        }
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw SteerCli.badArgument(spec, "--out " + out + ": no such directory " + parent);
        }
        try (LlamaModel llama = SteerCli.loadModel(spec, model)) {
            Intervention iv = SteerCli.readMap(spec, "--map", map, llama);
            Intervention gated;
            try {
                gated = TokenGates.gate(llama, iv, src, ctl, options, Map.of(
                        "source_sha256", PromptSet.read(source).sha256(),
                        "control_sha256", PromptSet.read(control).sha256()), poolingChoice);
            } catch (IllegalArgumentException e) {
                throw SteerCli.badArgument(spec, "--map " + map + ": " + e.getMessage());
            }
            InterventionFile.write(gated, out);
            PrintWriter o = spec.commandLine().getOut();
            o.printf(Locale.ROOT, "gated '%s' (%s) at %d sites%n", gated.name(), gated.method(), gated.maps().size());
            for (HookSite site : gated.maps().keySet()) {
                o.printf(Locale.ROOT, "%-20s bias %9.4f%n", site.name(), gated.maps().get(site).gateBias());
            }
            o.printf("gate: %s%n", gated.metadata().get("gate"));
            o.printf("wrote %s (%d bytes)%n", out, Files.size(out));
            o.flush();
            report(gated, llama);
        }
        return 0;
    }

    /** The mean gate per site on each --report set. */
    private void report(Intervention gated, LlamaModel llama) throws java.io.IOException {
        PrintWriter o = spec.commandLine().getOut();
        for (Path file : report) {
            List<String> prompts = SteerCli.readPrompts(spec, "--report", file);
            SortedMap<HookSite, Double> open = TokenGates.openness(llama, gated, prompts, reportStrength);
            double mean = open.values().stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
            o.printf(Locale.ROOT, "mean gate at strength %s on %s (%d prompts): %.3f over sites;", reportStrength, file,
                    prompts.size(), mean);
            open.forEach((site, g) -> o.printf(Locale.ROOT, " %s %.3f", site.name(), g));
            o.println();
        }
        o.flush();
    }
}
