package io.steergate.engine.training;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.SteeringPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Causal ("incr") estimation shared by the closed-form estimators (docs/steering-methods.md 2.1): sites are fitted in
 * forward order, and site j's source activations are collected with the maps of sites 1..j-1 active at strength 1;
 * target activations run clean unless {@link FitOptions#targetsThroughEarlierMaps()}. Source and target counts are
 * equalized first by a seeded random subsample of the larger prompt list (never by truncating sorted arrays).
 */
final class CausalFit {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Fits one site's map from pooled activations, float[N][dim] each (equal N). */
    interface SiteEstimator {
        AffineMap fit(float[][] source, float[][] target);
    }

    private CausalFit() {
    }

    /**
     * Fits a map at every site of {@code options}, in forward order, each from the source prompts' activations with the
     * maps before it applied against the target prompts' (clean unless targetsThroughEarlierMaps), pooled as
     * {@code options.pooling()} says (a pooling other than the published mean is recorded in the hyperparameters).
     *
     * @param afterEachBatch run after every batch of every collection pass (see {@link ActivationCollector})
     */
    static Fit run(LlamaModel model, List<String> source, List<String> target, FitOptions options, String method,
            Map<String, String> hyperparameters, SiteEstimator estimator, Runnable afterEachBatch) {
        ActivationCollector.Pooling pooling = options.pooling();
        if (source.isEmpty() || target.isEmpty()) {
            throw new IllegalArgumentException("source and target prompts must not be empty (got " + source.size()
                    + " and " + target.size() + ")");
        }
        List<HookSite> sites = new ArrayList<>(new TreeSet<>(options.sites()));
        for (HookSite site : sites) {
            if (site.layer() >= model.config().nLayers()) {
                throw new IllegalArgumentException("site " + site.name() + " is beyond the model's "
                        + model.config().nLayers() + " layers");
            }
        }
        int n = Math.min(source.size(), target.size());
        Random random = new Random(options.seed());
        List<String> src = subsample(source, n, random);
        List<String> dst = subsample(target, n, random);
        String sourceSha = PromptSet.sha256Of(source);
        String targetSha = PromptSet.sha256Of(target);

        ActivationCollector collector = new ActivationCollector(model, options.batchSize(), pooling, afterEachBatch);
        TreeMap<HookSite, AffineMap> fitted = new TreeMap<>();
        long collectNanos = 0;
        long fitNanos = 0;
        // clean targets: one pass records every site
        Map<HookSite, float[][]> cleanTargets = null;
        if (!options.targetsThroughEarlierMaps()) {
            long t0 = System.nanoTime();
            cleanTargets = collector.collect(dst, sites, null);
            collectNanos += System.nanoTime() - t0;
        }
        for (HookSite site : sites) {
            long t0 = System.nanoTime();
            SteeringPlan earlier = fitted.isEmpty() ? null : SteeringPlan.of(intervention(model, options, method,
                    fitted, Map.of()), 1.0);
            float[][] x = collector.collect(src, List.of(site), earlier).get(site);
            float[][] y = cleanTargets != null ? cleanTargets.get(site)
                    : collector.collect(dst, List.of(site), earlier).get(site);
            long t1 = System.nanoTime();
            fitted.put(site, estimator.fit(x, y));
            fitNanos += System.nanoTime() - t1;
            collectNanos += t1 - t0;
        }
        Map<String, String> metadata = new TreeMap<>();
        metadata.put("training_data_sha256", trainingData(sourceSha, targetSha));
        TreeMap<String, String> hp = new TreeMap<>(hyperparameters);
        hp.put("seed", Long.toString(options.seed()));
        hp.put("targetsThroughEarlierMaps", Boolean.toString(options.targetsThroughEarlierMaps()));
        hp.put("samplesPerSide", Integer.toString(n));
        hp.put("incremental", "incr");
        if (pooling != ActivationCollector.Pooling.MEAN) {
            hp.put("pooling", pooling.wireName());
        }
        metadata.put("hyperparameters", json(hp));
        return new Fit(intervention(model, options, method, fitted, metadata), sites, source.size(), target.size(), n,
                options.seed(), sourceSha, targetSha, collectNanos / 1_000_000, fitNanos / 1_000_000);
    }

    private static Intervention intervention(LlamaModel model, FitOptions options, String method,
            TreeMap<HookSite, AffineMap> maps, Map<String, String> metadata) {
        return new Intervention(options.name(), method, model.fingerprint(), options.concept(), metadata, maps);
    }

    /** {@code n} of {@code prompts} drawn without replacement by a seeded shuffle, kept in their given order. */
    static List<String> subsample(List<String> prompts, int n, Random random) {
        if (n >= prompts.size()) {
            return prompts;
        }
        List<String> out = new ArrayList<>(n);
        for (int i : draw(prompts.size(), n, random)) {
            out.add(prompts.get(i));
        }
        return out;
    }

    /** {@code n} distinct indices of {@code 0..size-1} by a partial Fisher-Yates shuffle, ascending. */
    static int[] draw(int size, int n, Random random) {
        int[] index = new int[size];
        for (int i = 0; i < index.length; i++) {
            index[i] = i;
        }
        for (int i = 0; i < n; i++) {
            int j = i + random.nextInt(index.length - i);
            int t = index[i];
            index[i] = index[j];
            index[j] = t;
        }
        int[] chosen = java.util.Arrays.copyOf(index, n);
        java.util.Arrays.sort(chosen);
        return chosen;
    }

    /**
     * A flat JSON object of string values, keys sorted: how a map's metadata holds structured values (its
     * hyperparameters, its training-data hashes), so equal inputs give equal bytes.
     */
    static String json(Map<String, String> values) {
        try {
            return JSON.writeValueAsString(new TreeMap<>(values));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a map of strings always serialises", e);
        }
    }

    /** The training_data_sha256 metadata value: the source and target prompts' hashes. */
    static String trainingData(String sourceSha256, String targetSha256) {
        return json(Map.of("source", sourceSha256, "target", targetSha256));
    }
}
