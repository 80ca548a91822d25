package io.steergate.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.ToIntFunction;

/**
 * The per-batch form of the rows' steering: for every site that any row uses, per stage, omega and beta of shape
 * (B, 1, width), the site's width ({@link HookPoint#width}; rows without that stage get omega 1, beta 0) and, when
 * any row's stage has a support, lo and hi of the same shape (rows without one get -inf, +inf), and when any row's
 * stage is gated, the gate (B, 1, width), its bias and which rows are gated (B, 1, 1). Built once per batch;
 * the hooks are then two NDArray operations per stage (five with a support, a few more with a gate), and sites no row
 * uses have no hook.
 */
public final class SteeringBatch {

    private final SiteHook[] hooks; // (nLayers * POINTS), null where no row steers
    private final List<NDArray> arrays; // every array the hooks hold

    private SteeringBatch(SiteHook[] hooks, List<NDArray> arrays) {
        this.hooks = hooks;
        this.arrays = arrays;
    }

    /**
     * Builds the hooks of a batch whose row b is steered by {@code rows.get(b)}.
     *
     * @param manager owns the arrays (they live as long as it; attach them to each step's manager)
     * @param rows one entry per row; null or empty = unsteered
     * @param config the model: sites must name one of its layers, stages must have the site's width
     * @return the batch, or null when no row is steered (the forward then runs its unsteered path)
     * @throws IllegalArgumentException when a row names a site or width the model does not have
     */
    public static SteeringBatch build(NDManager manager, List<? extends RowSteering> rows, LlamaConfig config) {
        return build(manager, rows, config.nLayers(), point -> point.width(config));
    }

    /**
     * {@link #build(NDManager, List, LlamaConfig)} for generation on {@code model}: at a norm site ({@code attn_norm},
     * {@code mlp_norm}) whose rows all have one stage without a support, omega is folded into the norm's weight
     * ({@link SiteHook.FoldedNorm}), which saves the forward one operation there. The fold is computed in float32
     * once, so gradients do not reach omega: training and activation collection use the other overloads.
     */
    static SteeringBatch build(NDManager manager, List<? extends RowSteering> rows, LlamaModel model) {
        LlamaConfig config = model.config();
        return build(manager, rows, config.nLayers(), point -> point.width(config), model::normWeight);
    }

    /** {@link #build(NDManager, List, LlamaConfig)} for {@code nLayers} layers, every point {@code dim} wide. */
    public static SteeringBatch build(NDManager manager, List<? extends RowSteering> rows, int nLayers, int dim) {
        return build(manager, rows, nLayers, point -> dim);
    }

    /** {@link #build(NDManager, List, LlamaConfig)} for a model of {@code nLayers} layers, {@code widthOf} wide. */
    public static SteeringBatch build(NDManager manager, List<? extends RowSteering> rows, int nLayers,
            ToIntFunction<HookPoint> widthOf) {
        return build(manager, rows, nLayers, widthOf, null);
    }

    /** The weight of the RMSNorm whose output is (layer, point), or null when the point is not a norm's output. */
    interface NormWeights {
        float[] of(int layer, HookPoint point);
    }

    /**
     * Refuses rows that name a site or width {@code config}'s model does not have, as {@link #build} does, without
     * building anything: for a forward that takes the rows' stages as they are ({@link LoopDecoder}).
     *
     * @throws IllegalArgumentException naming the row, the site and what the model has there
     */
    static void check(List<? extends RowSteering> rows, LlamaConfig config) {
        sitesUsed(rows, config.nLayers(), point -> point.width(config));
    }

    /** Per site that any row steers (in forward order), each row's stages there (null for rows that do not). */
    private static SortedMap<Integer, List<HookStage>[]> sitesUsed(List<? extends RowSteering> rows, int nLayers,
            ToIntFunction<HookPoint> widthOf) {
        int batch = rows.size();
        int sites = nLayers * SiteHook.POINTS;
        SortedMap<Integer, List<HookStage>[]> used = new TreeMap<>();
        for (int b = 0; b < batch; b++) {
            RowSteering row = rows.get(b);
            if (row == null) {
                continue;
            }
            for (Map.Entry<Integer, List<HookStage>> e : row.stagesBySite().entrySet()) {
                int site = e.getKey();
                if (site < 0 || site >= sites) {
                    // floorDiv: a negative index names a negative layer, not layer 0
                    throw new IllegalArgumentException("row " + b + " steers layer "
                            + Math.floorDiv(site, SiteHook.POINTS) + "; the model has " + nLayers + " layers");
                }
                HookPoint point = SiteHook.point(site);
                int width = widthOf.applyAsInt(point);
                for (HookStage stage : e.getValue()) {
                    if (stage.width() != width) {
                        throw new IllegalArgumentException("row " + b + " has a map of width " + stage.width()
                                + " at layer " + site / SiteHook.POINTS + " " + point.wireName()
                                + "; the model's width there is " + width);
                    }
                }
                if (!e.getValue().isEmpty()) {
                    @SuppressWarnings("unchecked")
                    List<HookStage>[] perRow = used.computeIfAbsent(site, s -> new List[batch]);
                    perRow[b] = e.getValue();
                }
            }
        }
        return used;
    }

    private static SteeringBatch build(NDManager manager, List<? extends RowSteering> rows, int nLayers,
            ToIntFunction<HookPoint> widthOf, NormWeights norms) {
        int batch = rows.size();
        int sites = nLayers * SiteHook.POINTS;
        SortedMap<Integer, List<HookStage>[]> used = sitesUsed(rows, nLayers, widthOf);
        if (used.isEmpty()) {
            return null;
        }
        SiteHook[] hooks = new SiteHook[sites];
        List<NDArray> arrays = new ArrayList<>();
        for (Map.Entry<Integer, List<HookStage>[]> e : used.entrySet()) {
            int width = widthOf.applyAsInt(SiteHook.point(e.getKey()));
            Shape shape = new Shape(batch, 1, width);
            List<HookStage>[] perRow = e.getValue();
            int stages = Arrays.stream(perRow).mapToInt(s -> s == null ? 0 : s.size()).max().orElse(0);
            float[] norm = norms == null || stages != 1 ? null
                    : norms.of(e.getKey() / SiteHook.POINTS, SiteHook.point(e.getKey()));
            SiteHook hook = null;
            for (int s = 0; s < stages; s++) {
                float[] omega = new float[batch * width];
                float[] beta = new float[batch * width];
                float[] lo = null;
                float[] hi = null;
                float[] gate = null;
                float[] gateBias = null;
                boolean[] gated = null;
                Arrays.fill(omega, 1f);
                for (int b = 0; b < batch; b++) {
                    if (perRow[b] == null || s >= perRow[b].size()) {
                        continue;
                    }
                    HookStage stage = perRow[b].get(s);
                    System.arraycopy(stage.omega(), 0, omega, b * width, width);
                    System.arraycopy(stage.beta(), 0, beta, b * width, width);
                    if (stage.hasSupport()) {
                        if (lo == null) {
                            lo = new float[batch * width];
                            hi = new float[batch * width];
                            Arrays.fill(lo, Float.NEGATIVE_INFINITY);
                            Arrays.fill(hi, Float.POSITIVE_INFINITY);
                        }
                        System.arraycopy(stage.lo(), 0, lo, b * width, width);
                        System.arraycopy(stage.hi(), 0, hi, b * width, width);
                    }
                    if (stage.isGated()) {
                        if (gate == null) {
                            gate = new float[batch * width];
                            gateBias = new float[batch];
                            gated = new boolean[batch];
                        }
                        System.arraycopy(stage.gate(), 0, gate, b * width, width);
                        gateBias[b] = stage.gateBias();
                        gated[b] = true;
                    }
                }
                NDArray omegaArray = keep(arrays, manager.create(omega, shape)); // (B, 1, width)
                NDArray betaArray = keep(arrays, manager.create(beta, shape)); // (B, 1, width)
                SiteHook stageHook;
                if (lo != null) {
                    stageHook = supported(omegaArray, betaArray, keep(arrays, manager.create(lo, shape)),
                            keep(arrays, manager.create(hi, shape)));
                } else if (norm != null && gate == null) {
                    float[] folded = new float[batch * width];
                    for (int i = 0; i < folded.length; i++) {
                        folded[i] = norm[i % width] * omega[i]; // the float32 product the forward would take
                    }
                    stageHook = new SiteHook.FoldedNorm(omegaArray, betaArray,
                            keep(arrays, manager.create(folded, shape)));
                } else {
                    stageHook = SiteHook.affine(omegaArray, betaArray);
                }
                if (gate != null) {
                    Shape oneARow = new Shape(batch, 1, 1);
                    stageHook = gated(stageHook, keep(arrays, manager.create(gate, shape)),
                            keep(arrays, manager.create(gateBias, oneARow)), keep(arrays, manager.create(gated, oneARow)));
                }
                hook = hook == null ? stageHook : hook.andThen(stageHook);
            }
            hooks[e.getKey()] = hook;
        }
        return new SteeringBatch(hooks, arrays);
    }

    /** omega * x + beta where lo < x < hi (strict), x elsewhere: Linear-AcT's support is a mask, not a clamp. */
    public static SiteHook supported(NDArray omega, NDArray beta, NDArray lo, NDArray hi) {
        return x -> NDArrays.where(x.gt(lo).logicalAnd(x.lt(hi)), x.mul(omega).add(beta), x);
    }

    /**
     * The token-gated form of {@code stage} (DSAS): y = x + g (stage(x) - x) with g = sigmoid(gate . x + bias) per
     * token, read from the stage's input x; rows not gated ({@code gated} false) take stage(x) itself, so their bits are
     * those of the ungated hook.
     *
     * @param gate (B, 1, width), zero on rows without a gate
     * @param bias (B, 1, 1)
     * @param gated (B, 1, 1) boolean
     */
    public static SiteHook gated(SiteHook stage, NDArray gate, NDArray bias, NDArray gated) {
        return x -> {
            NDArray steered = stage.apply(x);
            NDArray blended = blend(x, steered, gate, bias);
            return NDArrays.where(gated.broadcast(x.getShape()), blended, steered); // where does not broadcast
        };
    }

    /**
     * The token-gated form of {@code stage} for every row alike: y = x + g (stage(x) - x). Differentiable in the gate,
     * its bias and whatever the stage holds, which is how LinEAS trains gates with its maps.
     *
     * @param gate broadcastable to (B, 1, width): one row's (width) serves all
     * @param bias broadcastable to (B, T, 1)
     */
    public static SiteHook gated(SiteHook stage, NDArray gate, NDArray bias) {
        return x -> blend(x, stage.apply(x), gate, bias);
    }

    /** The gate factor sigmoid(gate . x + bias) of every token of x (B, T, width): (B, T, 1). */
    public static NDArray gateFactor(NDArray x, NDArray gate, NDArray bias) {
        return Activation.sigmoid(x.mul(gate).sum(new int[] {-1}, true).add(bias));
    }

    private static NDArray blend(NDArray x, NDArray steered, NDArray gate, NDArray bias) {
        return x.add(steered.sub(x).mul(gateFactor(x, gate, bias)));
    }

    /** The hooks, indexed by {@link SiteHook#index(int, HookPoint)}; null entries where no row steers. */
    public SiteHook[] hooks() {
        return hooks;
    }

    /** The arrays the hooks hold: attach them to each step's manager with the model's weights. */
    public List<NDArray> arrays() {
        return arrays;
    }

    private static NDArray keep(List<NDArray> all, NDArray array) {
        all.add(array);
        return array;
    }
}
