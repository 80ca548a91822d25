package io.steergate.cli;

import io.steergate.engine.steering.SteeringPlan;

import io.steergate.engine.eval.Evaluation;
import io.steergate.engine.eval.LexiconScorer;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.Intervention;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code steer evaluate}: sweeps a map over strengths on held-out prompts (concept and desired rates, perplexity
 * ratio, W1, sparsity), optionally with a second map composed after it; prints a table, writes SVG and Markdown.
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = "Evaluate a map over strengths: concept rate, desired rate, perplexity ratio, W1, sparsity.")
final class EvaluateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "the model directory")
    Path model;

    @Option(names = "--map", required = true, paramLabel = "FILE", description = "the intervention to evaluate")
    Path map;

    @Option(names = "--map2", paramLabel = "FILE", description = "a second intervention, composed after --map")
    Path map2;

    @Option(names = "--eval", required = true, paramLabel = "FILE.jsonl", description = "held-out prompts")
    Path eval;

    @Option(names = "--eval2", paramLabel = "FILE.jsonl", description = "held-out prompts of --map2 (default --eval)")
    Path eval2;

    @Option(names = "--lexicon", required = true, paramLabel = "FILE", description = "the concept lexicon")
    Path lexicon;

    @Option(names = "--lexicon2", paramLabel = "FILE", description = "the concept lexicon of --map2")
    Path lexicon2;

    @Option(names = "--desired", paramLabel = "FILE", description = "a lexicon of the desired side")
    Path desired;

    @Option(names = "--source", paramLabel = "FILE.jsonl", description = "training source prompts (W1 train)")
    Path source;

    @Option(names = "--target", paramLabel = "FILE.jsonl", description = "training target prompts (W1)")
    Path target;

    @Option(names = "--strengths", defaultValue = "0,0.25,0.5,0.75,1", split = ",", paramLabel = "S,...",
            description = "default ${DEFAULT-VALUE}")
    List<Double> strengths;

    @Option(names = "--n", defaultValue = "200", paramLabel = "N", description = "generations per configuration")
    int n;

    @Option(names = "--max-tokens", defaultValue = "48", paramLabel = "N", description = "default ${DEFAULT-VALUE}")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "1.0", paramLabel = "T", description = "default ${DEFAULT-VALUE}")
    float temperature;

    @Option(names = "--top-p", defaultValue = "0.6", paramLabel = "P", description = "default ${DEFAULT-VALUE}")
    float topP;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "row i samples with seed N + i")
    long seed;

    @Option(names = "--batch", defaultValue = "32", paramLabel = "N", description = "rows per generation batch")
    int batch;

    @Option(names = "--ppl-texts", required = true, paramLabel = "FILE.jsonl", description = "perplexity passages")
    Path pplTexts;

    @Option(names = "--out-svg", paramLabel = "FILE", description = "concept rate vs strength chart")
    Path outSvg;

    @Option(names = "--out-md", paramLabel = "FILE", description = "Markdown report")
    Path outMd;

    @Override
    public Integer call() throws Exception {
        Evaluation.Options options;
        try {
            options = new Evaluation.Options(n, maxTokens, temperature, topP, seed, batch);
        } catch (IllegalArgumentException e) {
            throw SteerCli.badArgument(spec, e.getMessage());
        }
        for (double s : strengths) {
            if (!(s >= 0 && s <= SteeringPlan.MAX_STRENGTH)) {
                throw SteerCli.badArgument(spec, "--strengths must each be in [0, " + SteeringPlan.MAX_STRENGTH + "], got " + s);
            }
        }
        if ((source == null) != (target == null)) {
            throw SteerCli.badArgument(spec, "--source and --target go together");
        }
        if (map2 != null && lexicon2 == null) {
            throw SteerCli.badArgument(spec, "--map2 needs --lexicon2 (the second concept's lexicon)");
        }
        List<String> evalPrompts = prompts("--eval", eval);
        List<String> ppl = prompts("--ppl-texts", pplTexts);
        List<String> src = source == null ? List.of() : prompts("--source", source);
        List<String> dst = target == null ? List.of() : prompts("--target", target);
        Evaluation.Probe probe = new Evaluation.Probe(lexiconName(lexicon), evalPrompts, lexicon("--lexicon", lexicon),
                desired == null ? null : lexicon("--desired", desired));
        Evaluation.Probe probe2 = map2 == null ? null : new Evaluation.Probe(lexiconName(lexicon2),
                eval2 == null ? evalPrompts : prompts("--eval2", eval2), lexicon("--lexicon2", lexicon2), null);
        checkWritable("--out-svg", outSvg);
        checkWritable("--out-md", outMd);

        PrintWriter out = spec.commandLine().getOut();
        try (LlamaModel llama = SteerCli.loadModel(spec, model)) {
            Intervention iv = SteerCli.readMap(spec, "--map", map, llama);
            Intervention iv2 = map2 == null ? null : SteerCli.readMap(spec, "--map2", map2, llama);
            Evaluation evaluation = new Evaluation(llama, options);
            long t0 = System.nanoTime();
            Evaluation.Sweep sweep = evaluation.sweep(iv, strengths, probe,
                    new Evaluation.Activations(src, dst, dst.isEmpty() ? List.of() : evalPrompts), ppl);
            out.print(EvaluationReport.table(sweep));
            List<String> names = new ArrayList<>();
            List<Evaluation.CompositionPoint> composition = List.of();
            if (iv2 != null) {
                names = List.of(probe.name(), probe2.name());
                composition = evaluation.compose(List.of(iv, iv2), List.of(probe, probe2), strengths, ppl);
                out.println();
                out.println("composition: " + iv.name() + " then " + iv2.name());
                out.print(EvaluationReport.compositionTable(names, composition));
            }
            out.printf(Locale.ROOT, "evaluated in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            if (outSvg != null) {
                EvaluationReport.chart(sweep, names, composition).write(outSvg);
                out.println("wrote " + outSvg);
            }
            if (outMd != null) {
                String command = "steer " + String.join(" ", spec.commandLine().getParseResult().originalArgs()
                        .stream().map(a -> a.matches("[A-Za-z0-9_./,=:+-]+") ? a : "'" + a + "'").toList());
                Files.writeString(outMd, EvaluationReport.markdown(command, options, sweep, names, composition),
                        StandardCharsets.UTF_8);
                out.println("wrote " + outMd);
            }
            out.flush();
        }
        return 0;
    }

    private List<String> prompts(String option, Path file) throws IOException {
        SteerCli.existingFile(spec, option, file);
        try {
            List<String> texts = PromptSet.read(file).texts();
            if (texts.isEmpty()) {
                throw SteerCli.badArgument(spec, option + " " + file + " holds no texts");
            }
            return texts;
        } catch (IllegalArgumentException e) {
            throw SteerCli.badArgument(spec, option + " " + file + ": " + e.getMessage());
        }
    }

    private LexiconScorer lexicon(String option, Path file) throws IOException {
        SteerCli.existingFile(spec, option, file);
        try {
            return LexiconScorer.load(file);
        } catch (IllegalArgumentException e) {
            throw SteerCli.badArgument(spec, option + " " + file + ": " + e.getMessage());
        }
    }

    private static String lexiconName(Path file) {
        return file.getFileName().toString().replaceFirst("\\.txt$", "");
    }

    private void checkWritable(String option, Path file) {
        if (file == null) {
            return;
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw SteerCli.badArgument(spec, option + " " + file + ": no such directory " + parent);
        }
    }
}
