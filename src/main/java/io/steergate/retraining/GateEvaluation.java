package io.steergate.retraining;

import io.steergate.engine.eval.ConceptRate;
import io.steergate.engine.eval.Evaluation;
import io.steergate.engine.eval.LexiconScorer;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.model.Tokenizer;
import io.steergate.engine.steering.Intervention;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.codec.digest.DigestUtils;

/**
 * Measures a candidate map against its baseline (the active version, or the unsteered model) with the engine's
 * {@link Evaluation} and applies {@link GateRule}. Both measurements use the same held-out prompts and seeds (row i:
 * prompt i mod |set|, seed i) at the same strength, so the difference is the maps', not the sampling's.
 */
final class GateEvaluation {

    /** The active version a candidate is measured against; null for the unsteered model. */
    record Baseline(int version, Intervention intervention) {}

    /**
     * The verdict and the report stored with the job (evaluation_json, before the promotion outcome is added).
     *
     * @param baselineVersion the version measured against; null for the unsteered model
     * @param replacedVersion the version active when the gate ran, which a promotion replaces: the baseline, or one
     *     made for other weights (after a model upgrade), which the gate replaces by the unsteered model
     */
    record Outcome(GateRule.Decision decision, Integer baselineVersion, Integer replacedVersion, Map<String, Object> report) {

        Outcome replacing(Integer version) {
            return new Outcome(decision, baselineVersion, version, report);
        }
    }

    private GateEvaluation() {
    }

    /**
     * @param progress run after each batch of generations (the trainer refreshes the job's heartbeat there)
     * @throws UncheckedIOException when a lexicon or the perplexity passages cannot be read
     * @throws IllegalArgumentException when a map does not fit the model
     */
    static Outcome measure(LlamaModel model, Claim job, Intervention candidate, Baseline active, GateConfig config,
            GateSpecs files, Runnable progress) {
        EvaluationRequest spec = job.evaluation();
        double strength = spec.strength() != null ? spec.strength() : config.strength();
        Evaluation.Options protocol = Evaluation.Options.defaults();
        Evaluation.Options options = new Evaluation.Options(config.generations(), config.maxTokens(),
                protocol.temperature(), protocol.topP(), protocol.seedBase(), protocol.batchSize());
        LexiconScorer concept;
        LexiconScorer desired;
        PromptSet perplexityTexts;
        Map<String, Object> report = new LinkedHashMap<>();
        try {
            concept = LexiconScorer.load(files.lexiconFile(spec.concept()));
            desired = spec.desired() == null ? null : LexiconScorer.load(files.lexiconFile(spec.desired()));
            perplexityTexts = files.perplexityTexts();
            report.put("rule", GateRule.TEXT);
            report.put("heldOut", ordered("promptSet", spec.prompts(), "size", job.heldOut().size(),
                    "sha256", PromptSet.sha256Of(job.heldOut())));
            report.put("concept", lexicon(spec.concept(), files));
            if (spec.desired() != null) {
                report.put("desired", lexicon(spec.desired(), files));
            }
            report.put("perplexityTexts", ordered("file", config.perplexityTexts(), "size", perplexityTexts.size(),
                    "sha256", perplexityTexts.sha256()));
        } catch (IOException e) {
            throw new UncheckedIOException("evaluation: " + e.getMessage(), e);
        }
        report.put("strength", strength);
        report.put("generations", options.n());
        report.put("maxTokens", options.maxTokens());
        report.put("temperature", options.temperature());
        report.put("topP", options.topP());
        report.put("seedBase", options.seedBase());

        Evaluation evaluation = new Evaluation(model, options, progress);
        Evaluation.Probe probe = new Evaluation.Probe(spec.concept(), endsWithinContext(model, job.heldOut(), options.maxTokens()),
                concept, desired);
        Evaluation.Activations none = new Evaluation.Activations(List.of(), List.of(), List.of());
        long start = System.nanoTime();
        Evaluation.Point candidatePoint;
        Evaluation.Point baselinePoint;
        if (active == null) {
            // strength 0 of the candidate is the unsteered model, on the same rows
            List<Evaluation.Point> points = evaluation.sweep(candidate, List.of(0.0, strength), probe, none,
                    perplexityTexts.texts()).points();
            baselinePoint = points.get(0);
            candidatePoint = points.get(1);
        } else {
            baselinePoint = evaluation.sweep(active.intervention(), List.of(strength), probe, none,
                    perplexityTexts.texts()).points().get(0);
            candidatePoint = evaluation.sweep(candidate, List.of(strength), probe, none, perplexityTexts.texts())
                    .points().get(0);
        }
        GateRule.Decision decision = GateRule.decide(candidatePoint.concept(), baselinePoint.concept(),
                candidatePoint.perplexity(), baselinePoint.perplexity(), config.perplexityTolerance());
        report.put("candidate", point(candidatePoint));
        Map<String, Object> baseline = new LinkedHashMap<>();
        baseline.put("against", active == null ? "unsteered" : "active version " + active.version());
        baseline.put("version", active == null ? null : active.version());
        baseline.putAll(point(baselinePoint));
        report.put("baseline", baseline);
        report.put("conceptDifference", ordered("estimate", decision.difference(), "low", decision.differenceLow(),
                "high", decision.differenceHigh()));
        report.put("perplexityRatio", decision.perplexityRatio());
        report.put("perplexityTolerance", decision.perplexityTolerance());
        report.put("verdict", decision.verdict().name());
        report.put("reasons", decision.reasons());
        report.put("evaluationMillis", (System.nanoTime() - start) / 1_000_000);
        Integer baselineVersion = active == null ? null : active.version();
        return new Outcome(decision, baselineVersion, baselineVersion, report);
    }

    /**
     * The held-out texts as the gate generates from them: a text that leaves no room in the context for its
     * continuation is cut to its end (its last tokens, decoded), the part a continuation follows. A stored set takes
     * texts of 4,000 characters, which on a small model's context failed the job after the whole training.
     */
    static List<String> endsWithinContext(LlamaModel model, List<String> texts, int maxTokens) {
        Tokenizer tokenizer = model.tokenizer();
        int room = Math.max(2, model.config().seqLen() - maxTokens);
        return texts.stream().map(text -> {
            int[] tokens = tokenizer.encode(text);
            String kept = text;
            // BOS comes first; a decoded tail may encode to a few more tokens than it was, so cut again until it fits
            for (int keep = room - 1; keep > 0 && tokenizer.encode(kept).length > room; keep -= 8) {
                kept = tokenizer.decode(Arrays.copyOfRange(tokens, Math.max(1, tokens.length - keep), tokens.length));
            }
            return kept;
        }).toList();
    }

    private static Map<String, Object> lexicon(String name, GateSpecs files) throws IOException {
        return ordered("lexicon", name, "sha256", DigestUtils.sha256Hex(Files.readAllBytes(files.lexiconFile(name))));
    }

    /** A map that keeps the order given (key, value, key, value...): the stored report reads in that order. */
    private static Map<String, Object> ordered(Object... keysAndValues) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            out.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return out;
    }

    private static Map<String, Object> point(Evaluation.Point p) {
        return ordered("concept", rate(p.concept()), "desired", p.desired() == null ? null : rate(p.desired()),
                "perplexity", p.perplexity());
    }

    private static Map<String, Object> rate(ConceptRate r) {
        return ordered("hits", r.hits(), "total", r.total(), "rate", r.rate(), "low", r.low(), "high", r.high());
    }
}
