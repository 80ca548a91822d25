package io.steergate.engine.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.steergate.engine.eval.Evaluation;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.model.PromptBatch;
import io.steergate.engine.model.SiteHook;
import io.steergate.engine.model.SteeringBatch;
import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.SteeringPlan;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * LinEAS (Linear End-to-end Activation Steering, arXiv 2503.10679; docs/steering-methods.md 3): per-neuron affine
 * maps at every chosen site, trained jointly by backpropagation through the frozen model so that the pooled
 * post-map activations of source prompts match the clean target prompts' distribution at every site (sorted-sample
 * W2 loss, {@link SortedSampleLoss}). Adam (betas 0.9, 0.9) with cosine annealing, then optional L1 and group-lasso
 * proximal steps toward the identity ({@link Proximal}). Optionally a seeded share of the prompts is held out: its W1
 * is checked every {@link #HELD_OUT_EVERY} steps, and with a patience the training stops when it no longer improves
 * and returns the maps of the best check. With {@link JointGates} each map gets a token gate trained with it
 * (end-to-end DSAS) and the loss a control term.
 *
 * <p>At one site without joint gates a step runs no model: the site's input is upstream of its only map, so the
 * sources' pooled inputs are read once and each step maps its batch's rows, which makes the paper's full batch (every
 * source prompt at every step) cost no more than a minibatch did.
 *
 * <p>Parameters and Adam state live in Java arrays; each step builds fresh ω, β arrays that require gradients in its
 * own sub-manager, reads their gradients back and closes the manager, so nothing accumulates and nothing leaks
 * (docs/architecture.md 5, DJL pitfalls 1-2).
 */
public final class Lineas {

    /** A neuron counts as active when |ω − 1| or |β| exceeds this (the reference's sparsity_threshold). */
    public static final double SPARSITY_THRESHOLD = 1e-5;
    static final double BETA1 = 0.9;
    static final double BETA2 = 0.9;
    static final double EPS = 1e-8;
    /** The schedule ends at learningRate times this (the reference's dampen_lr). */
    static final double DAMPEN_LR = 1e-3;
    static final InterventionMethod METHOD = new LineasMethod();
    /**
     * The fewest source prompts a fit trains on, after its held-out split: the reference refuses batches under 4
     * (docs/steering-methods.md 3.1).
     */
    static final int MIN_SOURCE_PROMPTS = 4;
    /** The fewest target prompts a fit trains on, after its held-out split. */
    static final int MIN_TARGET_PROMPTS = 1;
    /** Held-out W1 is checked after every this many steps, and after the last step. */
    public static final int HELD_OUT_EVERY = 10;

    /**
     * What the trainer reports after every step.
     *
     * @param step 1-based
     * @param loss this step's loss, before its update (may be NaN on a skipped step)
     * @param learningRate the learning rate of this step (also τ of its proximal step)
     * @param activeNeurons neurons, over all sites, whose map is not the identity (see {@link #SPARSITY_THRESHOLD})
     * @param activeSites sites with at least one active neuron
     * @param skipped steps skipped so far for a non-finite loss or gradient
     * @param heldOutW1 held-out W1 after this step's update where it was checked, else NaN
     */
    public record Progress(int step, double loss, double learningRate, int activeNeurons, int activeSites,
            int skipped, double heldOutW1) {
    }

    /** Sees (and may alter) the gradients of one step before the finiteness check: a seam for tests. */
    interface GradientTap {
        void inspect(int step, float[][] gradOmega, float[][] gradBeta);
    }

    private Lineas() {
    }

    /** {@link #train(LlamaModel, List, List, LineasOptions, Consumer, BooleanSupplier)} without progress or cancel. */
    public static LineasFit train(LlamaModel model, List<String> source, List<String> target, LineasOptions options) {
        return train(model, source, target, options, p -> { }, () -> false);
    }

    /**
     * Trains LinEAS maps at {@code options.sites()} that move source prompts' activations onto target prompts'.
     * Deterministic for a given seed on one machine (same inputs, same maps, bit for bit).
     *
     * @param model the frozen model
     * @param source prompts showing the behaviour to remove; batches cycle through a seeded shuffle of those not
     *     held out
     * @param target prompts showing the desired behaviour; the clean pooled activations of those not held out are
     *     the target
     * @param options sites, schedule, sparsity weights, seed
     * @param listener called after every step, skipped steps included
     * @param cancel checked before every step; once true the training stops and returns the maps so far with
     *     {@link LineasFit#cancelled()} true (no exception)
     * @return the intervention (method {@link Intervention#LINEAS}) and the loss history
     * @throws IllegalArgumentException on empty prompt lists, fewer than 4 source prompts left to train on, a split
     *     that leaves a side without training prompts, or a site beyond the model
     */
    public static LineasFit train(LlamaModel model, List<String> source, List<String> target, LineasOptions options,
            Consumer<Progress> listener, BooleanSupplier cancel) {
        return run(model, source, target, options, null, listener, cancel, (s, gw, gb) -> { });
    }

    /**
     * As {@link #train(LlamaModel, List, List, LineasOptions, Consumer, BooleanSupplier)}, with a token gate per map
     * trained jointly ({@link JointGates}; null = none): every returned map is gated, and the hyperparameters record
     * the control weight and the control prompts' hash. Held-out W1 and early stopping measure the gated maps.
     *
     * @param afterEachBatch run after every batch of the activation collections (the targets and sources read before
     *     the first step, the held-out checks), which on a large set take longer than many steps
     */
    public static LineasFit train(LlamaModel model, List<String> source, List<String> target, LineasOptions options,
            JointGates gates, Consumer<Progress> listener, BooleanSupplier cancel, Runnable afterEachBatch) {
        return run(model, source, target, options, gates, listener, cancel, (s, gw, gb) -> { },
                !inputsFixed(options, gates), afterEachBatch);
    }

    /**
     * As the paper trains, with every pooled activation (the targets, the training batches' post-map outputs, the W1
     * checks) pooled as the settings say: {@link ActivationCollector.Pooling#LAST} for prompts cut where the model
     * chooses (EVALUATION.md, session 18; recorded in the hyperparameters). The joint gates' control penalty stays a
     * mean over every token: it bounds the displacement wherever the map acts.
     */
    static LineasFit run(LlamaModel model, List<String> source, List<String> target, LineasOptions options,
            JointGates gates, Consumer<Progress> listener, BooleanSupplier cancel, GradientTap tap) {
        return run(model, source, target, options, gates, listener, cancel, tap, !inputsFixed(options, gates),
                () -> { });
    }

    /** One site without joint gates: the site's input is upstream of its only map, so no step can move it. */
    private static boolean inputsFixed(LineasOptions options, JointGates gates) {
        return options.sites().size() == 1 && gates == null;
    }

    /**
     * As {@link #run(LlamaModel, List, List, LineasOptions, JointGates, Consumer, BooleanSupplier, GradientTap)};
     * {@code forwardEveryStep} false (one site, no joint gates only) maps the sources' pooled inputs read once instead
     * of running the model at every step: the same loss, and so the same maps up to float rounding.
     */
    static LineasFit run(LlamaModel model, List<String> source, List<String> target, LineasOptions options,
            JointGates gates, Consumer<Progress> listener, BooleanSupplier cancel, GradientTap tap,
            boolean forwardEveryStep) {
        return run(model, source, target, options, gates, listener, cancel, tap, forwardEveryStep, () -> { });
    }

    private static LineasFit run(LlamaModel model, List<String> source, List<String> target, LineasOptions options,
            JointGates gates, Consumer<Progress> listener, BooleanSupplier cancel, GradientTap tap,
            boolean forwardEveryStep, Runnable afterEachBatch) {
        if (!forwardEveryStep && !inputsFixed(options, gates)) {
            throw new IllegalArgumentException("only one site without joint gates has inputs its map cannot move");
        }
        TrainingSettings settings = options.settings();
        ActivationCollector.Pooling pooling = settings.pooling();
        long start = System.nanoTime();
        if (source.size() < MIN_SOURCE_PROMPTS || target.size() < MIN_TARGET_PROMPTS) {
            throw new IllegalArgumentException("need at least " + MIN_SOURCE_PROMPTS + " source prompts and "
                    + MIN_TARGET_PROMPTS + " target prompt, got " + source.size() + " and " + target.size());
        }
        List<HookSite> sites = options.sites();
        int nLayers = model.config().nLayers();
        for (HookSite site : sites) {
            if (site.layer() >= nLayers) {
                throw new IllegalArgumentException("site " + site.name() + " is beyond the model's " + nLayers
                        + " layers");
            }
        }
        // the split has its own seeded stream, so a fit without one batches exactly as before splits existed
        Random splitRandom = new Random(settings.seed());
        HeldOutSplit src = HeldOutSplit.of(source, settings.heldOut(), splitRandom);
        HeldOutSplit dst = HeldOutSplit.of(target, settings.heldOut(), splitRandom);
        if (src.train().size() < MIN_SOURCE_PROMPTS) {
            throw new IllegalArgumentException("need at least " + MIN_SOURCE_PROMPTS + " source prompts to train on, "
                    + src.heldOut().size() + " of " + source.size() + " are held out");
        }
        boolean checking = !src.heldOut().isEmpty();
        int nSites = sites.size();
        List<HookSite> lossSites = options.lossSites();
        int batchSize = Math.min(settings.batchSize(), src.train().size());
        int runLayers = sites.get(sites.size() - 1).layer() + 1;

        // targets: clean pooled activations, read at the batch's quantile levels once
        ActivationCollector collector = new ActivationCollector(model, 32, pooling, afterEachBatch);
        Map<HookSite, float[][]> clean = collector.collect(dst.train(), lossSites, null);
        float[][] targetQuantiles = new float[lossSites.size()][];
        for (int s = 0; s < lossSites.size(); s++) {
            targetQuantiles[s] = flatten(SortedSampleLoss.quantiles(clean.get(lossSites.get(s)), batchSize));
        }
        // source token ids once, in a seeded shuffle the batches cycle through
        int seqLen = model.config().seqLen();
        int[][] sourceIds = new int[src.train().size()][];
        for (int i = 0; i < sourceIds.length; i++) {
            int[] ids = model.tokenizer().encode(src.train().get(i));
            sourceIds[i] = ids.length > seqLen ? Arrays.copyOf(ids, seqLen) : ids;
        }
        int[] order = shuffle(sourceIds.length, new Random(settings.seed()));
        // control token ids, batches cycling through them in order (every control prompt counts alike)
        int[][] controlIds = gates == null ? new int[0][] : model.encodeTruncated(gates.control());
        int controlBatch = Math.min(batchSize, controlIds.length);
        int controlCursor = 0;

        // omega, beta and their Adam moments per site, each the site's width
        float[][] omega = new float[nSites][];
        float[][] beta = new float[nSites][];
        double[][] mOmega = new double[nSites][];
        double[][] vOmega = new double[nSites][];
        double[][] mBeta = new double[nSites][];
        double[][] vBeta = new double[nSites][];
        // with joint gates: per site the gate's weights a (width) and bias c (one value), from zero (g = 1/2)
        float[][] gate = gates == null ? null : new float[nSites][];
        float[][] gateBias = gates == null ? null : new float[nSites][];
        double[][][] gateMoments = gates == null ? null : new double[4][nSites][]; // m, v of a; m, v of c
        for (int s = 0; s < nSites; s++) {
            int width = sites.get(s).width(model.config());
            omega[s] = new float[width];
            Arrays.fill(omega[s], 1f);
            beta[s] = new float[width];
            mOmega[s] = new double[width];
            vOmega[s] = new double[width];
            mBeta[s] = new double[width];
            vBeta[s] = new double[width];
            if (gates != null) {
                gate[s] = new float[width];
                gateBias[s] = new float[1];
                gateMoments[0][s] = new double[width];
                gateMoments[1][s] = new double[width];
                gateMoments[2][s] = new double[1];
                gateMoments[3][s] = new double[1];
            }
        }
        int updates = 0; // Adam's own step count: skipped steps do not advance it
        int skipped = 0;
        int cursor = 0;
        List<Double> history = new ArrayList<>();
        boolean cancelled = false;

        // the training sources' clean activations, collected once: at the loss sites for the W1 before, and in the
        // relative metric at every site, whose spread is the unit of its β group (docs/steering-methods.md 3.4)
        boolean relative = settings.proxMetric() == Proximal.Metric.ADAM_RELATIVE;
        Map<HookSite, float[][]> sourceClean = collector.collect(src.train(), relative ? sites : lossSites, null);
        double[] spreads = relative ? sourceClean.values().stream().mapToDouble(Lineas::spread).toArray() : null;
        if (relative) {
            sourceClean = new TreeMap<>(sourceClean);
            sourceClean.keySet().retainAll(lossSites);
        }
        double trainW1Before = Evaluation.meanW1(sourceClean, clean);
        // with inputs fixed the clean pooled rows are the inputs of every step: ω x̄ + β is the pooled output whichever
        // the pooling, since a per-neuron affine map commutes with the mean over tokens
        float[][] fixedInputs = forwardEveryStep ? null : sourceClean.get(sites.get(0));
        // held-out sources are measured against the training targets (the distribution the maps aim at, the larger
        // sample); the held-out targets give the floor: what a sample of the target distribution itself scores
        double heldOutFloor = checking
                ? Evaluation.meanW1(collector.collect(dst.heldOut(), lossSites, null), clean) : Double.NaN;
        double heldOutBefore = checking
                ? Evaluation.meanW1(collector.collect(src.heldOut(), lossSites, null), clean) : Double.NaN;
        // the best held-out check so far; the identity (step 0) until a check beats it
        double bestW1 = heldOutBefore;
        int bestStep = 0;
        float[][] bestOmega = copy(omega);
        float[][] bestBeta = copy(beta);
        float[][] bestGate = copy(gate);
        float[][] bestGateBias = copy(gateBias);
        double lastW1 = heldOutBefore;
        int lastCheck = 0;
        boolean stoppedEarly = false;

        for (int step = 1; step <= settings.steps(); step++) {
            if (cancel.getAsBoolean()) {
                cancelled = true;
                break;
            }
            int[] rows = new int[batchSize];
            for (int b = 0; b < batchSize; b++) {
                rows[b] = order[cursor];
                cursor = (cursor + 1) % order.length;
            }
            float[][] gradOmega = new float[nSites][];
            float[][] gradBeta = new float[nSites][];
            float[][] gradGate = gates == null ? new float[0][] : new float[nSites][];
            float[][] gradGateBias = gates == null ? new float[0][] : new float[nSites][];
            int[][] control = new int[controlBatch][];
            for (int b = 0; b < controlBatch; b++) {
                control[b] = controlIds[controlCursor];
                controlCursor = (controlCursor + 1) % controlIds.length;
            }
            double loss = fixedInputs != null
                    ? mappedBackward(model, fixedInputs, rows, new Maps(omega, beta, gate, gateBias),
                            targetQuantiles[0], new Maps(gradOmega, gradBeta, gradGate, gradGateBias))
                    : forwardBackward(model, sites, lossSites, runLayers, tokens(sourceIds, rows),
                            new Maps(omega, beta, gate, gateBias), targetQuantiles, control,
                            gates == null ? 0 : gates.controlWeight(),
                            new Maps(gradOmega, gradBeta, gradGate, gradGateBias), pooling);
            tap.inspect(step, gradOmega, gradBeta);
            // cosine annealing; the lr of this step is also τ of its proximal step (docs/steering-methods.md 3.4)
            double lr = learningRate(options, step - 1);
            if (Double.isFinite(loss) && allFinite(gradOmega) && allFinite(gradBeta) && allFinite(gradGate)
                    && allFinite(gradGateBias)) {
                updates++;
                for (int s = 0; s < nSites; s++) {
                    adam(omega[s], gradOmega[s], mOmega[s], vOmega[s], lr, updates);
                    adam(beta[s], gradBeta[s], mBeta[s], vBeta[s], lr, updates);
                    // the group-lasso weights of this site's two groups, in the metric the options name
                    double groupOmega = settings.groupLasso();
                    double groupBeta = settings.groupLasso();
                    if (settings.proxMetric() != Proximal.Metric.LR) {
                        groupOmega /= meanAdamDenominator(vOmega[s], updates);
                        groupBeta /= meanAdamDenominator(vBeta[s], updates);
                    }
                    if (spreads != null) {
                        groupBeta /= spreads[s];
                    }
                    Proximal.sparseGroup(omega[s], beta[s], lr, settings.l1(), groupOmega, groupBeta);
                    if (gates != null) {
                        adam(gate[s], gradGate[s], gateMoments[0][s], gateMoments[1][s], lr, updates);
                        adam(gateBias[s], gradGateBias[s], gateMoments[2][s], gateMoments[3][s], lr, updates);
                    }
                }
            } else {
                skipped++;
            }
            history.add(Double.isFinite(loss) ? loss : Double.NaN);
            double heldOutW1 = Double.NaN;
            if (checking && (step % HELD_OUT_EVERY == 0 || step == settings.steps())) {
                heldOutW1 = w1(collector, src.heldOut(), clean, model, options, new Maps(omega, beta, gate, gateBias));
                lastW1 = heldOutW1;
                lastCheck = step;
                if (heldOutW1 < bestW1) {
                    bestW1 = heldOutW1;
                    bestStep = step;
                    bestOmega = copy(omega);
                    bestBeta = copy(beta);
                    bestGate = copy(gate);
                    bestGateBias = copy(gateBias);
                }
            }
            int[] active = active(omega, beta);
            listener.accept(new Progress(step, loss, lr, active[0], active[1], skipped, heldOutW1));
            if (!Double.isNaN(heldOutW1) && settings.patience() > 0 && step - bestStep >= settings.patience()
                    && step < settings.steps()) {
                stoppedEarly = true;
                break;
            }
        }
        int stepsRun = history.size();
        boolean keepBest = checking && settings.patience() > 0;
        Maps out = keepBest ? new Maps(bestOmega, bestBeta, bestGate, bestGateBias)
                : new Maps(omega, beta, gate, gateBias);
        double heldOutAfter = !checking ? Double.NaN
                : keepBest ? bestW1
                : lastCheck == stepsRun ? lastW1
                : w1(collector, src.heldOut(), clean, model, options, out);
        double trainAfter = w1(collector, src.train(), clean, model, options, out);
        LineasFit.W1 w1 = new LineasFit.W1(trainW1Before, trainAfter, src.heldOut().size(), heldOutBefore,
                heldOutAfter, heldOutFloor, keepBest ? bestStep : stepsRun, stoppedEarly);

        double[] losses = history.stream().mapToDouble(Double::doubleValue).toArray();
        double initialLoss = losses.length > 0 ? losses[0] : Double.NaN;
        double finalLoss = losses.length > 0 ? losses[losses.length - 1] : Double.NaN;
        String sourceSha = PromptSet.sha256Of(source);
        String targetSha = PromptSet.sha256Of(target);
        Map<String, String> hp = new TreeMap<>();
        hp.put("lr", Double.toString(settings.learningRate()));
        hp.put("steps", Integer.toString(settings.steps()));
        hp.put("batch", Integer.toString(batchSize));
        hp.put("l1", Double.toString(settings.l1()));
        hp.put("group", Double.toString(settings.groupLasso()));
        hp.put("seed", Long.toString(settings.seed()));
        hp.put("optimizer", "adam(0.9,0.9,1e-8)");
        hp.put("schedule", "cosine(min=lr*" + DAMPEN_LR + ")");
        hp.put("criterion", "wasserstein(p=2,sorted,mean)");
        if (pooling != ActivationCollector.Pooling.MEAN) {
            hp.put("pooling", pooling.wireName());
        }
        if (settings.proxMetric() != Proximal.Metric.LR) {
            hp.put("proxMetric", settings.proxMetric().wireName());
        }
        if (settings.lastSiteLoss()) {
            hp.put("lossSites", "last");
        }
        if (checking) {
            hp.put("heldOut", Double.toString(settings.heldOut()));
            hp.put("patience", Integer.toString(settings.patience()));
        }
        if (gates != null) {
            // the control set's hash goes with the hyperparameters: training_data_sha256 is exactly {source, target}
            // (docs/architecture.md 4.5), which the registry shows as a version's provenance
            hp.put("gates", "joint");
            hp.put("controlWeight", Double.toString(gates.controlWeight()));
            hp.put("controlSha256", PromptSet.sha256Of(gates.control()));
        }
        Map<String, String> metadata = new TreeMap<>();
        metadata.put("hyperparameters", CausalFit.json(hp));
        metadata.put("training_data_sha256", CausalFit.trainingData(sourceSha, targetSha));
        metadata.put("initial_loss", Double.toString(initialLoss));
        metadata.put("final_loss", Double.toString(finalLoss));
        metadata.put("skipped_steps", Integer.toString(skipped));
        metadata.put("steps_run", Integer.toString(losses.length));
        if (cancelled) {
            metadata.put("cancelled", "true");
        }
        if (checking) {
            metadata.put("held_out_w1", Double.toString(heldOutAfter));
            metadata.put("maps_step", Integer.toString(w1.mapsStep()));
        }
        Intervention intervention = intervention(model, options, sites, out, metadata);
        return new LineasFit(intervention, sites, losses, initialLoss, finalLoss, skipped, cancelled, sourceSha,
                targetSha, (System.nanoTime() - start) / 1_000_000, w1);
    }

    /**
     * Per site ω, β and, with joint gates, the gate's weights and its bias (a one-value array each, so Adam updates
     * them as it does the others); gate and gateBias are null without gates. Also how one step's gradients come back.
     */
    private record Maps(float[][] omega, float[][] beta, float[][] gate, float[][] gateBias) {
    }

    private static Intervention intervention(LlamaModel model, LineasOptions options, List<HookSite> sites,
            Maps m, Map<String, String> metadata) {
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        for (int s = 0; s < sites.size(); s++) {
            AffineMap map = AffineMap.of(m.omega()[s].clone(), m.beta()[s].clone());
            maps.put(sites.get(s), m.gate() == null ? map : map.gated(m.gate()[s].clone(), m.gateBias()[s][0]));
        }
        return new Intervention(options.name(), METHOD.metadataName(), model.fingerprint(), options.concept(),
                metadata, maps);
    }

    /**
     * Mean W1 over the loss sites ({@link LineasOptions#lossSites}) of {@code prompts} through the maps at strength 1
     * against {@code target}.
     */
    private static double w1(ActivationCollector collector, List<String> prompts, Map<HookSite, float[][]> target,
            LlamaModel model, LineasOptions options, Maps maps) {
        SteeringPlan plan = SteeringPlan.of(intervention(model, options, options.sites(), maps, Map.of()), 1.0);
        return Evaluation.meanW1(collector.collect(prompts, options.lossSites(), plan), target);
    }

    /** A deep copy; null stays null. */
    private static float[][] copy(float[][] rows) {
        if (rows == null) {
            return null;
        }
        float[][] out = new float[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            out[i] = rows[i].clone();
        }
        return out;
    }

    /**
     * One forward of the source batch with the maps at strength 1 and one backward; fills {@code grads} (float[width]
     * per site; the gate's too with joint gates) and returns the loss: the mean over {@code lossSites} of the
     * sorted-sample loss (LinEAS, arXiv 2503.10679, Algorithm 1), plus with joint gates {@code controlWeight} times the
     * mean over sites of the control batch's mean squared displacement per token (a second forward, on the same tape).
     */
    private static double forwardBackward(LlamaModel model, List<HookSite> sites, List<HookSite> lossSites,
            int runLayers, int[][] tokens, Maps maps, float[][] targetQuantiles, int[][] control, double controlWeight,
            Maps grads, ActivationCollector.Pooling pooling) {
        int nSites = sites.size();
        int rows = tokens.length;
        boolean gated = maps.gate() != null;
        try (NDManager step = model.newSubManager()) {
            model.lendWeights(step);
            NDArray[][] params = new NDArray[nSites][];
            for (int s = 0; s < nSites; s++) {
                params[s] = gated
                        ? new NDArray[] {step.create(maps.omega()[s]), step.create(maps.beta()[s]),
                            step.create(maps.gate()[s]), step.create(maps.gateBias()[s])}
                        : new NDArray[] {step.create(maps.omega()[s]), step.create(maps.beta()[s])};
                for (NDArray p : params[s]) {
                    p.setRequiresGradient(true);
                }
            }
            double loss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                PromptBatch batch = PromptBatch.of(step, tokens);
                Map<HookSite, NDArray> pooled = new HashMap<>();
                // (B, width), the post-map output (steering-methods 3.2); left-padded, so the last column is each
                // row's last token
                boolean mean = pooling == ActivationCollector.Pooling.MEAN;
                model.forwardPrompts(batch, hooks(model, sites, params, (site, x, y) -> pooled.put(site,
                        mean ? batch.meanPool(y) : y.get(":, -1, :"))), runLayers);
                NDArray total = null;
                for (int s = 0; s < lossSites.size(); s++) {
                    NDArray p = pooled.get(lossSites.get(s));
                    NDArray v = step.create(targetQuantiles[s], new Shape(rows, p.getShape().get(1)));
                    NDArray l = SortedSampleLoss.loss(p, v);
                    total = total == null ? l : total.add(l);
                }
                total = total.div(lossSites.size());
                if (gated) {
                    PromptBatch controlBatch = PromptBatch.of(step, control);
                    List<NDArray> displacement = new ArrayList<>();
                    // per row the mean over its tokens (padding excluded) of the squared move, then over rows and
                    // neurons
                    model.forwardPrompts(controlBatch, hooks(model, sites, params, (site, x, y) -> displacement.add(
                            controlBatch.meanPool(y.sub(x).square()).mean())), runLayers);
                    NDArray controlTerm = displacement.get(0);
                    for (int s = 1; s < displacement.size(); s++) {
                        controlTerm = controlTerm.add(displacement.get(s));
                    }
                    total = total.add(controlTerm.div(nSites).mul((float) controlWeight));
                }
                loss = total.getFloat();
                collector.backward(total);
            }
            for (int s = 0; s < nSites; s++) {
                grads.omega()[s] = params[s][0].getGradient().toFloatArray();
                grads.beta()[s] = params[s][1].getGradient().toFloatArray();
                if (gated) {
                    grads.gate()[s] = params[s][2].getGradient().toFloatArray();
                    grads.gateBias()[s] = params[s][3].getGradient().toFloatArray();
                }
            }
            return loss;
        }
    }

    /**
     * {@link #forwardBackward}'s step at one site without gates and without the model: the batch's rows of the
     * sources' pooled inputs (float[prompts][width]) through ω x + β, the sorted-sample loss against the target
     * quantiles, one backward.
     */
    private static double mappedBackward(LlamaModel model, float[][] inputs, int[] rows, Maps maps,
            float[] targetQuantiles, Maps grads) {
        int width = inputs[0].length;
        float[] flat = new float[rows.length * width];
        for (int b = 0; b < rows.length; b++) {
            System.arraycopy(inputs[rows[b]], 0, flat, b * width, width);
        }
        try (NDManager step = model.newSubManager()) {
            NDArray omega = step.create(maps.omega()[0]);
            NDArray beta = step.create(maps.beta()[0]);
            omega.setRequiresGradient(true);
            beta.setRequiresGradient(true);
            double loss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                Shape shape = new Shape(rows.length, width);
                NDArray total = SortedSampleLoss.loss(affine(step.create(flat, shape), omega, beta),
                        step.create(targetQuantiles, shape));
                loss = total.getFloat();
                collector.backward(total);
            }
            grads.omega()[0] = omega.getGradient().toFloatArray();
            grads.beta()[0] = beta.getGradient().toFloatArray();
            return loss;
        }
    }

    /** LinEAS's map at a site: ω x + β per neuron, x (..., width). */
    private static NDArray affine(NDArray x, NDArray omega, NDArray beta) {
        return x.mul(omega).add(beta);
    }

    /** The token ids of the sources at {@code rows}. */
    private static int[][] tokens(int[][] sourceIds, int[] rows) {
        int[][] batch = new int[rows.length][];
        for (int b = 0; b < rows.length; b++) {
            batch[b] = sourceIds[rows[b]];
        }
        return batch;
    }

    /** Sees a site's input and output inside a training forward. */
    private interface SiteOutput {
        void accept(HookSite site, NDArray input, NDArray output);
    }

    /**
     * The training hooks: at each site y = ω x + β, or with a gate (params {ω, β, a, c}) y = x + g (ω x + β − x),
     * g = sigmoid(a . x + c) per token: the serving path's own rule ({@link SteeringBatch#gated(SiteHook, NDArray,
     * NDArray)}).
     */
    private static SiteHook[] hooks(LlamaModel model, List<HookSite> sites, NDArray[][] params, SiteOutput seen) {
        SiteHook[] hooks = new SiteHook[model.config().nLayers() * SiteHook.POINTS];
        for (int s = 0; s < sites.size(); s++) {
            HookSite site = sites.get(s);
            NDArray[] p = params[s];
            SiteHook map = x -> affine(x, p[0], p[1]); // (B, T, width)
            SiteHook rule = p.length == 4 ? SteeringBatch.gated(map, p[2], p[3]) : map;
            hooks[site.index()] = x -> {
                NDArray y = rule.apply(x);
                seen.accept(site, x, y);
                return y;
            };
        }
        return hooks;
    }

    /** torch.optim.Adam without weight decay: bias-corrected moments, eps outside the square root. */
    private static void adam(float[] p, float[] g, double[] m, double[] v, double lr, int t) {
        double c1 = 1 - Math.pow(BETA1, t);
        double c2 = 1 - Math.pow(BETA2, t);
        for (int k = 0; k < p.length; k++) {
            m[k] = BETA1 * m[k] + (1 - BETA1) * g[k];
            v[k] = BETA2 * v[k] + (1 - BETA2) * g[k] * (double) g[k];
            p[k] = (float) (p[k] - lr * (m[k] / c1) / (Math.sqrt(v[k] / c2) + EPS));
        }
    }

    /** The mean over a group of Adam's denominators sqrt(v̂) + ε after {@code t} updates ({@link #adam}'s). */
    static double meanAdamDenominator(double[] v, int t) {
        double c2 = 1 - Math.pow(BETA2, t);
        double sum = 0;
        for (double vk : v) {
            sum += Math.sqrt(vk / c2) + EPS;
        }
        return sum / v.length;
    }

    /** The root mean over neurons of each neuron's variance (population) across the rows of {@code activations}. */
    static double spread(float[][] activations) {
        int width = activations[0].length;
        double sum = 0;
        for (int k = 0; k < width; k++) {
            double mean = 0;
            for (float[] row : activations) {
                mean += row[k];
            }
            mean /= activations.length;
            for (float[] row : activations) {
                sum += (row[k] - mean) * (row[k] - mean);
            }
        }
        return Math.sqrt(sum / ((double) width * activations.length));
    }

    /** CosineAnnealingLR(T_max = steps, eta_min = lr·1e-3) at 0-based step t. */
    static double learningRate(LineasOptions options, int t) {
        double max = options.settings().learningRate();
        double min = max * DAMPEN_LR;
        return min + (max - min) * (1 + Math.cos(Math.PI * t / options.settings().steps())) / 2;
    }

    /** {active neurons over all sites, active sites}. */
    static int[] active(float[][] omega, float[][] beta) {
        int neurons = 0;
        int sites = 0;
        for (int s = 0; s < omega.length; s++) {
            int here = 0;
            for (int k = 0; k < omega[s].length; k++) {
                if (Math.abs(omega[s][k] - 1.0) > SPARSITY_THRESHOLD || Math.abs(beta[s][k]) > SPARSITY_THRESHOLD) {
                    here++;
                }
            }
            neurons += here;
            sites += here > 0 ? 1 : 0;
        }
        return new int[] {neurons, sites};
    }

    private static boolean allFinite(float[][] grads) {
        for (float[] g : grads) {
            for (float x : g) {
                if (!Float.isFinite(x)) {
                    return false;
                }
            }
        }
        return true;
    }

    private static int[] shuffle(int n, Random random) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) { // Fisher-Yates
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    private static float[] flatten(float[][] rows) {
        int dim = rows[0].length;
        float[] out = new float[rows.length * dim];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, out, i * dim, dim);
        }
        return out;
    }
}
