package io.steergate.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.engine.steering.SiteSpec;
import io.steergate.testing.TestModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command line run in-process: fit writes a readable map, generate uses it, evaluate reports, errors are one line. */
class SteerCliTest {

    private static final String MODEL =
            TestModel.dir().toString();

    @TempDir
    static Path dir;

    private static Path source;
    private static Path target;
    private static Path map;

    /** What one run returned: exit code, stdout, stderr. */
    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = SteerCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @BeforeAll
    static void fitOnce() throws IOException {
        source = dir.resolve("dogs.jsonl");
        target = dir.resolve("cats.jsonl");
        Files.writeString(source, """
                {"text": "The dog ran to the park."}
                {"text": "A big dog barked at the ball."}
                {"text": "The puppy wagged its tail."}
                {"text": "Max the dog liked his bone."}
                """);
        Files.writeString(target, """
                {"text": "The cat ran to the park."}
                {"text": "A big cat looked at the ball."}
                {"text": "The kitten flicked its tail."}
                {"text": "Max the cat liked his fish."}
                """);
        map = dir.resolve("no-dogs.safetensors");
        Run fit = run("fit", "--model", MODEL, "--method", "mean-shift", "--source", source.toString(), "--target",
                target.toString(), "--sites", "layers.0-1.resid,layers.3.mlp_norm", "--name", "no-dogs",
                "--concept", "dogs", "--out", map.toString());
        assertEquals(0, fit.code(), fit.err());
        assertTrue(fit.out().contains("fitted 'no-dogs' (MEAN_SHIFT) at 3 sites"), fit.out());
        assertTrue(fit.out().contains("wrote " + map), fit.out());
    }

    @Test
    void fitWritesAReadableMap() throws IOException {
        Intervention iv = InterventionFile.read(map);
        assertEquals("no-dogs", iv.name());
        assertEquals(Intervention.MEAN_SHIFT, iv.method());
        assertEquals("dogs", iv.concept());
        assertEquals(List.of(new HookSite(0, HookPoint.RESID), new HookSite(1, HookPoint.RESID),
                new HookSite(3, HookPoint.MLP_NORM)), List.copyOf(iv.maps().keySet()));
    }

    @Test
    void lineasFitsAndReportsItsLoss() throws IOException {
        Path out = dir.resolve("lineas.safetensors");
        Run fit = run("fit", "--model", MODEL, "--method", "lineas", "--source", source.toString(), "--target",
                target.toString(), "--sites", "layers.3-4.resid", "--name", "ln", "--out", out.toString(), "--steps", "6");
        assertEquals(0, fit.code(), fit.err());
        assertTrue(fit.out().contains("6 steps, loss"), fit.out());
        Intervention iv = InterventionFile.read(out);
        assertEquals(Intervention.LINEAS, iv.method());
        assertEquals(2, iv.maps().size());
    }

    @Test
    void lineasWithAControlSetTrainsAGateWithEachMap() throws IOException {
        Path out = dir.resolve("lineas-gated.safetensors");
        Run fit = run("fit", "--model", MODEL, "--method", "lineas", "--source", source.toString(), "--target",
                target.toString(), "--control", target.toString(), "--control-weight", "2", "--sites",
                "layers.3-4.mlp_out", "--name", "lg", "--out", out.toString(), "--steps", "3");
        assertEquals(0, fit.code(), fit.err());
        Intervention iv = InterventionFile.read(out);
        assertEquals(2, iv.maps().size());
        assertTrue(iv.maps().values().stream().allMatch(AffineMap::isGated), iv.maps().toString());
        assertTrue(iv.metadata().get("hyperparameters").contains("\"controlWeight\":\"2.0\""));

        Run zero = run("fit", "--model", MODEL, "--method", "lineas", "--source", source.toString(), "--target",
                target.toString(), "--control", target.toString(), "--control-weight", "0", "--name", "lg", "--out",
                out.toString());
        assertEquals(2, zero.code(), zero.err());
        assertTrue(zero.err().contains("--control-weight: controlWeight: must be positive"), zero.err());
        Run orphan = run("fit", "--model", MODEL, "--method", "lineas", "--source", source.toString(), "--target",
                target.toString(), "--control-weight", "2", "--name", "lg", "--out", out.toString());
        assertEquals(2, orphan.code(), orphan.err());
        assertTrue(orphan.err().contains("--control-weight needs --control"), orphan.err());
        Run closedForm = run("fit", "--model", MODEL, "--method", "mean-shift", "--source", source.toString(),
                "--target", target.toString(), "--control", target.toString(), "--name", "lg", "--out",
                out.toString());
        assertEquals(1, closedForm.code(), closedForm.err());
        assertTrue(closedForm.err().startsWith("steer fit: gates: mean-shift has no gradient training"),
                closedForm.err());
    }

    @Test
    void lineasTakesTheGroupStepInTheMetricAsked() throws IOException {
        Path out = dir.resolve("adam.safetensors");
        Run fit = run("fit", "--model", MODEL, "--method", "lineas", "--source", source.toString(), "--target",
                target.toString(), "--sites", "layers.4.resid", "--name", "la", "--steps", "2", "--group", "0.01",
                "--prox-metric", "adam", "--out", out.toString());
        assertEquals(0, fit.code(), fit.err());
        assertTrue(InterventionFile.read(out).metadata().get("hyperparameters").contains("\"proxMetric\":\"adam\""));
        assertBad(run("fit", "--model", MODEL, "--method", "lineas", "--source", source.toString(), "--target",
                target.toString(), "--name", "la", "--prox-metric", "sgd", "--out", out.toString()),
                "--prox-metric: must be lr, adam or adam-relative, got 'sgd'");
    }

    @Test
    void lineasTakesItsLossAtTheLastSiteWhenAsked() throws IOException {
        Path out = dir.resolve("last-site.safetensors");
        Run fit = run("fit", "--model", MODEL, "--method", "lineas", "--source", source.toString(), "--target",
                target.toString(), "--sites", "layers.3.resid,layers.4.resid", "--name", "ls", "--steps", "2",
                "--last-site-loss", "--out", out.toString());
        assertEquals(0, fit.code(), fit.err());
        assertTrue(InterventionFile.read(out).metadata().get("hyperparameters").contains("\"lossSites\":\"last\""));
    }

    @Test
    void lineasTakesTheBatchAskedCappedAtTheSourcePrompts() throws IOException {
        // 4 source prompts: --batch 100 trains on all 4 at every step (the full batch), recorded as the batch used
        Path out = dir.resolve("full-batch.safetensors");
        Run fit = run("fit", "--model", MODEL, "--method", "lineas", "--source", source.toString(), "--target",
                target.toString(), "--sites", "layers.4.resid", "--name", "fb", "--steps", "2", "--batch", "100",
                "--out", out.toString());
        assertEquals(0, fit.code(), fit.err());
        assertTrue(InterventionFile.read(out).metadata().get("hyperparameters").contains("\"batch\":\"4\""),
                InterventionFile.read(out).metadata().get("hyperparameters"));
        assertBad(run("fit", "--model", MODEL, "--method", "lineas", "--source", source.toString(), "--target",
                target.toString(), "--name", "fb", "--batch", "3", "--out", out.toString()),
                "--batch: must be at least 4, got 3");
    }

    @Test
    void lineasHoldsOutWhatHeldOutAsks() {
        // 1 of the 4 source prompts held out leaves 3 to train on: refused, which shows the flag reached the fit
        Run fit = run("fit", "--model", MODEL, "--method", "lineas", "--source", source.toString(), "--target",
                target.toString(), "--sites", "layers.4.resid", "--name", "ln", "--out",
                dir.resolve("held.safetensors").toString(), "--steps", "2", "--held-out", "0.25", "--patience", "10");
        assertEquals(1, fit.code(), fit.out());
        assertTrue(fit.err().contains("need at least 4 source prompts to train on, 1 of 4 are held out"), fit.err());
    }

    @Test
    void scaleWritesTheMapAtAStrengthAsAMapOfItsOwn() throws IOException {
        Path out = dir.resolve("scaled.safetensors");
        Run scale = run("scale", "--map", map.toString(), "--strength", "2", "--out", out.toString());
        assertEquals(0, scale.code(), scale.err());
        Intervention original = InterventionFile.read(map);
        Intervention scaled = InterventionFile.read(out);
        assertEquals("2.0", scaled.metadata().get("scaled"));
        HookSite first = original.maps().firstKey();
        assertEquals(original.maps().get(first).scaled(2), scaled.maps().get(first));
        assertBad(run("scale", "--map", map.toString(), "--strength", "0", "--out", out.toString()), "--strength must be in (0, 4.0]");
    }

    @Test
    void gateAddsATokenGateToEverySiteOfAMap() throws IOException {
        Path out = dir.resolve("gated.safetensors");
        Run gate = run("gate", "--model", MODEL, "--map", map.toString(), "--source", source.toString(), "--control",
                target.toString(), "--seed", "1", "--held-out", "0.25", "--out", out.toString());
        assertEquals(0, gate.code(), gate.err());
        assertTrue(gate.out().contains("gated 'no-dogs' (MEAN_SHIFT) at 3 sites"), gate.out());
        Intervention original = InterventionFile.read(map);
        Intervention gated = InterventionFile.read(out);
        assertEquals(original.maps().keySet(), gated.maps().keySet());
        for (HookSite site : gated.maps().keySet()) {
            assertTrue(gated.maps().get(site).isGated(), site.name());
            assertEquals(original.maps().get(site), gated.maps().get(site).ungated());
        }
        assertTrue(gated.metadata().get("gate").contains("\"seed\":1"), gated.metadata().get("gate"));
        assertBad(run("gate", "--model", MODEL, "--map", out.toString(), "--source", source.toString(), "--control",
                target.toString(), "--out", dir.resolve("twice.safetensors").toString()), "is already gated");
        assertBad(run("gate", "--model", MODEL, "--map", map.toString(), "--source", source.toString(), "--control",
                target.toString(), "--held-out", "0.9", "--out", out.toString()), "held-out share must be in [0, 0.5]");
        Run report = run("gate", "--model", MODEL, "--map", out.toString(), "--report", target.toString());
        assertEquals(0, report.code(), report.err());
        assertTrue(report.out().contains("mean gate at strength 1.0 on " + target + " (4 prompts)"), report.out());
        assertBad(run("gate", "--model", MODEL, "--map", out.toString()), "is already gated: give --report");
        assertBad(run("gate", "--model", MODEL, "--map", map.toString(), "--source", source.toString()),
                "gating a map needs --source, --control and --out");
    }

    @Test
    void fitAndGateAtTheLastTokenRecordItAndAnUnknownPoolingIsRefused() throws IOException {
        Path last = dir.resolve("last.safetensors");
        Run fit = run("fit", "--model", MODEL, "--method", "mean-shift", "--source", source.toString(), "--target",
                target.toString(), "--sites", "layers.2.resid", "--name", "lt", "--pooling", "last", "--out",
                last.toString());
        assertEquals(0, fit.code(), fit.err());
        Intervention fitted = InterventionFile.read(last);
        assertTrue(fitted.metadata().get("hyperparameters").contains("\"pooling\":\"last\""),
                fitted.metadata().toString());
        Path gatedFile = dir.resolve("last-gated.safetensors");
        Run gate = run("gate", "--model", MODEL, "--map", last.toString(), "--source", source.toString(), "--control",
                target.toString(), "--held-out", "0.25", "--pooling", "last", "--out", gatedFile.toString());
        assertEquals(0, gate.code(), gate.err());
        Intervention gated = InterventionFile.read(gatedFile);
        assertTrue(gated.metadata().get("gate").contains("\"pooling\":\"last\""), gated.metadata().get("gate"));
        assertEquals(fitted.maps().get(HookSite.parse("layers.2.resid")),
                gated.maps().get(HookSite.parse("layers.2.resid")).ungated());

        assertBad(run("fit", "--model", MODEL, "--method", "mean-shift", "--source", source.toString(), "--target",
                target.toString(), "--name", "lt", "--pooling", "first", "--out", last.toString()),
                "--pooling: must be mean or last, got 'first'");
        assertBad(run("gate", "--model", MODEL, "--map", map.toString(), "--source", source.toString(), "--control",
                target.toString(), "--pooling", "max", "--out", gatedFile.toString()),
                "--pooling: must be mean or last, got 'max'");
    }

    @Test
    void linearActFitsToo() throws IOException {
        Path out = dir.resolve("la.safetensors");
        Run fit = run("fit", "--model", MODEL, "--method", "linear-act", "--source", source.toString(), "--target",
                target.toString(), "--sites", "attn_norm", "--name", "la", "--out", out.toString(), "--seed", "3");
        assertEquals(0, fit.code(), fit.err());
        Intervention iv = InterventionFile.read(out);
        assertEquals(Intervention.LINEAR_ACT, iv.method());
        assertEquals(5, iv.maps().size());
    }

    @Test
    void generateWithTheMapPrintsText() {
        Run gen = run("generate", "--model", MODEL, "--map", map.toString(), "--strength", "0.5", "--prompt",
                "Tom went to the park. He saw", "--max-tokens", "12", "--seed", "7");
        assertEquals(0, gen.code(), gen.err());
        assertTrue(gen.out().startsWith("Tom went to the park. He saw"), gen.out());
        assertTrue(gen.out().strip().length() > "Tom went to the park. He saw".length(), gen.out());
        assertTrue(gen.err().contains("1 map(s)"), gen.err());
        // greedy and seeded runs repeat exactly
        assertEquals(gen.out(), run("generate", "--model", MODEL, "--map", map.toString(), "--strength", "0.5",
                "--prompt", "Tom went to the park. He saw", "--max-tokens", "12", "--seed", "7").out());
    }

    @Test
    void generateOverAPromptSetPrintsOneJsonLineARowEachSeededAsAlone() throws IOException {
        Path prompts = dir.resolve("continue.jsonl");
        Files.writeString(prompts, """
                {"text": "Tom went to the park. He saw"}
                {"text": "Lily had a \\"new\\" pet."}
                """);
        Run set = run("generate", "--model", MODEL, "--map", map.toString(), "--strength", "0.5", "--prompts",
                prompts.toString(), "--max-tokens", "12", "--seed", "7");
        assertEquals(0, set.code(), set.err());
        List<String> lines = set.out().strip().lines().toList();
        assertEquals(2, lines.size(), set.out());
        // each line reads back as a prompt set; row i is what --prompt gives alone with seed 7 + i
        List<String> texts = PromptSet.parse("out", "stdout", set.out()).texts();
        String[] alone = {"Tom went to the park. He saw", "Lily had a \"new\" pet."};
        for (int i = 0; i < 2; i++) {
            assertTrue(texts.get(i).startsWith(alone[i]) && texts.get(i).length() > alone[i].length(), texts.get(i));
            assertEquals(run("generate", "--model", MODEL, "--map", map.toString(), "--strength", "0.5", "--prompt",
                    alone[i], "--max-tokens", "12", "--seed", String.valueOf(7 + i)).out().strip(), texts.get(i));
        }
        assertTrue(set.err().contains("2 prompts"), set.err());
        assertBad(run("generate", "--model", MODEL, "--prompts", dir.resolve("none.jsonl").toString()), "--prompts");
        assertBad(run("generate", "--model", MODEL, "--prompts", source.toString(), "--prompt", "hi"),
                "mutually exclusive");
    }

    @Test
    void evaluateWritesTableChartAndMarkdown() throws IOException {
        Path eval = dir.resolve("eval.jsonl");
        Files.writeString(eval, """
                {"text": "Tom went to the park with his dad. At the park, he saw"}
                {"text": "Lily had a new pet. It was"}
                """);
        Path lexicon = dir.resolve("dogs.txt");
        Files.writeString(lexicon, "dog\npuppy\n");
        Path svg = dir.resolve("curve.svg");
        Path md = dir.resolve("report.md");
        Run ev = run("evaluate", "--model", MODEL, "--map", map.toString(), "--eval", eval.toString(), "--lexicon",
                lexicon.toString(), "--source", source.toString(), "--target", target.toString(), "--strengths",
                "0,1", "--n", "4", "--ppl-texts", source.toString(), "--out-svg", svg.toString(), "--out-md",
                md.toString());
        assertEquals(0, ev.code(), ev.err());
        assertTrue(ev.out().contains("ppl ratio"), ev.out());
        assertTrue(ev.out().lines().anyMatch(l -> l.startsWith("0.00 ") && l.contains("1.0000")), ev.out());
        assertTrue(Files.readString(svg).startsWith("<svg") || Files.readString(svg).startsWith("<?xml"));
        String report = Files.readString(md);
        assertTrue(report.contains("| 1.00 |"), report);
        assertTrue(report.contains("steer evaluate --model"), report);
    }

    @Test
    void badArgumentsGiveExitCode2AndOneLine() {
        assertBad(run("generate", "--prompt", "hi"), "Missing required option: '--model=DIR'");
        assertBad(run("generate", "--model", dir.resolve("nope").toString(), "--prompt", "hi"), "no such directory");
        assertBad(run("generate", "--model", MODEL, "--prompt", "hi", "--map", map.toString(), "--strength", "5"),
                "--strength must be in [0, 4.0]");
        assertBad(run("fit", "--model", MODEL, "--method", "mean-shift", "--source", source.toString(), "--target",
                target.toString(), "--sites", "layers.9.resid", "--name", "x", "--out",
                dir.resolve("x.safetensors").toString()), "--sites: bad site 'layers.9.resid'");
        assertBad(run("fit", "--model", MODEL, "--method", "pca", "--source", source.toString(), "--target",
                target.toString(), "--sites", "resid", "--name", "x", "--out",
                dir.resolve("x.safetensors").toString()), "unknown method 'pca'");
        assertBad(run("evaluate", "--model", MODEL, "--map", source.toString(), "--eval", source.toString(),
                "--lexicon", source.toString(), "--ppl-texts", source.toString()), "--lexicon");
        assertBad(run("frobnicate"), "Unmatched argument");
    }

    @Test
    void failuresGiveExitCode1AndOneLine() {
        // --out names a directory: the arguments parse, the write fails
        Run r = run("fit", "--model", MODEL, "--method", "mean-shift", "--source", source.toString(), "--target",
                target.toString(), "--sites", "layers.0.resid", "--name", "x", "--out", dir.toString());
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("steer fit: "), r.err());
    }

    @Test
    void siteSpecs() {
        assertEquals(5, SiteSpec.parse("resid", 5).size());
        assertEquals(10, SiteSpec.parse("attn_norm, mlp_norm", 5).size());
        assertEquals(List.of(new HookSite(0, HookPoint.RESID), new HookSite(1, HookPoint.RESID),
                new HookSite(2, HookPoint.RESID)), SiteSpec.parse("layers.0-2.resid", 5));
        assertEquals(List.of(new HookSite(1, HookPoint.ATTN_NORM), new HookSite(3, HookPoint.MLP_OUT)),
                SiteSpec.parse("layers.3.mlp_out,layers.1.attn_norm,layers.3.mlp_out", 5));
        assertThrows(IllegalArgumentException.class, () -> SiteSpec.parse("layers.2-1.resid", 5));
        assertThrows(IllegalArgumentException.class, () -> SiteSpec.parse("residual", 5));
        assertThrows(IllegalArgumentException.class, () -> SiteSpec.parse("", 5));
    }

    private static void assertBad(Run r, String fragment) {
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(fragment), r.err());
        assertTrue(!r.err().contains("\tat "), r.err());
    }
}
