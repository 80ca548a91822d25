package io.steergate.engine.steering;

import io.steergate.engine.model.HookStage;
import io.steergate.engine.model.LlamaConfig;
import io.steergate.engine.model.RowSteering;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The steering of one request: an ordered list of (intervention, strength), folded once into per-site stages.
 *
 * <p>Maps compose sequentially at each site in plan order, T2(T1(x)) (docs/steering-methods.md 1.4). Strength is applied
 * first, omega' = lambda omega + (1 - lambda), beta' = lambda beta; consecutive maps without a support then fold
 * into one affine stage, omega = omega1' omega2', beta = omega2' beta1' + beta2' (in float64, stored as float32).
 * A map with a support cannot fold with its neighbours (its mask depends on that stage's input), so it is a stage
 * of its own, and so is a gated map (its token gate reads that stage's input): the stage order stays the plan order.
 * Steps of strength 0 are the identity and are dropped.
 */
public final class SteeringPlan implements RowSteering {

    /**
     * Largest strength the engine applies. Above 1 the map is extrapolated (λ(ωx + β) + (1 − λ)x past the map):
     * evaluation sweeps use it to find where a map stops paying for its perplexity; policies keep strengths in [0, 1].
     */
    public static final double MAX_STRENGTH = 4.0;

    /** One intervention of a plan at strength {@code strength} in [0, {@link #MAX_STRENGTH}]. */
    public record Step(Intervention intervention, double strength) {
        public Step {
            Objects.requireNonNull(intervention, "intervention");
            if (!(strength >= 0 && strength <= MAX_STRENGTH)) {
                throw new IllegalArgumentException("strength of '" + intervention.name() + "' must be in [0, "
                        + MAX_STRENGTH + "], got " + strength);
            }
        }
    }

    /** The empty plan: unsteered. */
    public static final SteeringPlan NONE = new SteeringPlan(List.of(), new TreeMap<>());

    private final List<Step> steps;
    private final SortedMap<HookSite, List<HookStage>> stages;
    private final SortedMap<Integer, List<HookStage>> stagesBySite;

    private SteeringPlan(List<Step> steps, SortedMap<HookSite, List<HookStage>> stages) {
        this.steps = List.copyOf(steps);
        this.stages = Collections.unmodifiableSortedMap(stages);
        TreeMap<Integer, List<HookStage>> bySite = new TreeMap<>();
        stages.forEach((site, list) -> bySite.put(site.index(), list));
        this.stagesBySite = Collections.unmodifiableSortedMap(bySite);
    }

    /** One intervention at {@code strength}. */
    public static SteeringPlan of(Intervention intervention, double strength) {
        return compose(List.of(new Step(intervention, strength)));
    }

    /** Folds {@code steps} (in plan order) into per-site stages: once per request, never per token. */
    public static SteeringPlan compose(List<Step> steps) {
        return build(steps, true);
    }

    /**
     * The same plan without folding: every (step, site) is its own stage, applied one after the other. The reference
     * the folded plan is tested against; it costs one stage per map at run time.
     */
    public static SteeringPlan sequential(List<Step> steps) {
        return build(steps, false);
    }

    private static SteeringPlan build(List<Step> steps, boolean fold) {
        TreeMap<HookSite, List<Stage>> perSite = new TreeMap<>();
        for (Step step : steps) {
            double lambda = step.strength();
            if (lambda == 0) {
                continue;
            }
            for (Map.Entry<HookSite, AffineMap> e : step.intervention().maps().entrySet()) {
                List<Stage> list = perSite.computeIfAbsent(e.getKey(), s -> new ArrayList<>());
                AffineMap map = e.getValue();
                if (!list.isEmpty() && list.get(list.size() - 1).width() != map.width()) {
                    throw new IllegalArgumentException("site " + e.getKey().name() + " has maps of widths "
                            + list.get(list.size() - 1).width() + " and " + map.width());
                }
                Stage last = list.isEmpty() ? null : list.get(list.size() - 1);
                if (fold && last != null && last.foldable() && !map.hasSupport() && !map.isGated()) {
                    last.then(map, lambda);
                } else {
                    list.add(Stage.of(map, lambda));
                }
            }
        }
        TreeMap<HookSite, List<HookStage>> stages = new TreeMap<>();
        perSite.forEach((site, list) -> stages.put(site, list.stream().<HookStage>map(stage -> stage.toHookStage(site)).toList()));
        return new SteeringPlan(steps, stages);
    }

    /** The plan's steps, in order. */
    public List<Step> steps() {
        return steps;
    }

    /** The folded stages of every site the plan touches, sites in forward order. */
    public SortedMap<HookSite, List<HookStage>> stages() {
        return stages;
    }

    @Override
    public SortedMap<Integer, List<HookStage>> stagesBySite() {
        return stagesBySite;
    }

    public boolean isEmpty() {
        return stages.isEmpty();
    }

    /** Refuses the plan unless every intervention in it fits the model ({@link Intervention#checkCompatible}). */
    public void checkCompatible(LlamaConfig config, String fingerprint) {
        for (Step step : steps) {
            step.intervention().checkCompatible(config, fingerprint);
        }
    }

    /** The scalar reference: the plan's stages at {@code site} applied to {@code x}; a new array. */
    public float[] apply(HookSite site, float[] x) {
        float[] y = x.clone();
        for (HookStage stage : stages.getOrDefault(site, List.of())) {
            y = stage.apply(y);
        }
        return y;
    }

    /** A stage being folded, in float64. */
    private static final class Stage {
        private final double[] omega;
        private final double[] beta;
        private final float[] lo;
        private final float[] hi;
        private final float[] gate;
        private final float gateBias;

        private Stage(double[] omega, double[] beta, float[] lo, float[] hi, float[] gate, float gateBias) {
            this.omega = omega;
            this.beta = beta;
            this.lo = lo;
            this.hi = hi;
            this.gate = gate;
            this.gateBias = gateBias;
        }

        /** Whether a map may fold into this stage: only a plain affine one, no support, no gate. */
        boolean foldable() {
            return lo == null && gate == null;
        }

        /** The map at strength lambda: omega' = lambda omega + (1 - lambda), beta' = lambda beta. */
        static Stage of(AffineMap map, double lambda) {
            int d = map.width();
            double[] omega = new double[d];
            double[] beta = new double[d];
            for (int i = 0; i < d; i++) {
                omega[i] = lambda * map.omega()[i] + (1 - lambda);
                beta[i] = lambda * map.beta()[i];
            }
            return new Stage(omega, beta, map.lo(), map.hi(), map.gate(), map.gateBias());
        }

        /** Folds {@code map} at strength lambda after this stage: omega = omega1' omega2', beta = omega2' beta1' + beta2'. */
        void then(AffineMap map, double lambda) {
            for (int i = 0; i < omega.length; i++) {
                double omega2 = lambda * map.omega()[i] + (1 - lambda);
                double beta2 = lambda * map.beta()[i];
                omega[i] = omega[i] * omega2;
                beta[i] = omega2 * beta[i] + beta2;
            }
        }

        int width() {
            return omega.length;
        }

        /**
         * The stage in float, as the forward applies it.
         *
         * @throws IllegalArgumentException when a folded value leaves float's range: each map's values are finite (the
         *         file reader refuses the rest), but products and strengths of several can still overflow, and an
         *         infinite omega or beta would turn the row's activations, then its logits, into NaN
         */
        AffineMap toHookStage(HookSite site) {
            float[] o = new float[omega.length];
            float[] b = new float[omega.length];
            for (int i = 0; i < o.length; i++) {
                o[i] = (float) omega[i];
                b[i] = (float) beta[i];
                if (!Float.isFinite(o[i]) || !Float.isFinite(b[i])) {
                    throw new IllegalArgumentException("site " + site.name() + ": the plan's maps there compose to omega "
                            + omega[i] + ", beta " + beta[i] + " at neuron " + i + ", beyond float's range");
                }
            }
            return new AffineMap(o, b, lo, hi, gate, gateBias);
        }
    }
}
