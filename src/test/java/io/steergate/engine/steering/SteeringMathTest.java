package io.steergate.engine.steering;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.HookStage;
import io.steergate.engine.model.SiteHook;
import io.steergate.engine.model.SteeringBatch;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Hand-computed vectors of docs/steering-methods.md 7: the map rule, supports, folding, sites. */
class SteeringMathTest {

    private static final HookSite SITE = new HookSite(0, HookPoint.RESID);

    @Test
    void strengthInterpolatesBetweenIdentityAndTheMap() {
        // λ=0.5, ω=[2, 1], β=[1, 0], x=[1, 2] -> [2, 2]
        AffineMap map = AffineMap.of(new float[] {2, 1}, new float[] {1, 0});
        assertArrayEquals(new float[] {2, 2}, map.apply(new float[] {1, 2}, 0.5));
        SteeringPlan plan = SteeringPlan.of(intervention(map), 0.5);
        assertArrayEquals(new float[] {2, 2}, plan.apply(SITE, new float[] {1, 2}));
        assertArrayEquals(new float[] {2, 2}, throughNdArrays(plan, new float[] {1, 2}));
    }

    @Test
    void aScaledMapAtStrengthMuIsTheMapAtMuTimesLambda() {
        // ω=2, β=1 scaled by 2 -> ω'=3, β'=2; at μ=0.5 on x=1: 0.5(3+2)+0.5 = 3 = the original at strength 1
        AffineMap map = new AffineMap(new float[] {2}, new float[] {1}, new float[] {0}, new float[] {5});
        AffineMap scaled = map.scaled(2);
        assertArrayEquals(new float[] {3}, scaled.omega());
        assertArrayEquals(new float[] {2}, scaled.beta());
        assertArrayEquals(map.apply(new float[] {1}, 1), scaled.apply(new float[] {1}, 0.5));
        assertArrayEquals(new float[] {6}, scaled.apply(new float[] {6}, 1), "the support is kept");
        Intervention twice = intervention(map).scaled(2).scaled(1.5);
        assertEquals("3.0", twice.metadata().get("scaled"));
        assertThrows(IllegalArgumentException.class, () -> intervention(map).scaled(0));
    }

    @Test
    void theSupportIsAStrictMaskNotAClamp() {
        // lo=0, hi=1, ω=2, β=0, λ=1 maps [-1, 0.5, 2] -> [-1, 1, 2]; values at lo or hi are unchanged
        AffineMap map = new AffineMap(new float[] {2, 2, 2}, new float[3], new float[3], new float[] {1, 1, 1});
        assertArrayEquals(new float[] {-1, 1, 2}, map.apply(new float[] {-1, 0.5f, 2}, 1));
        assertArrayEquals(new float[] {0, 1, 0.5f}, map.apply(new float[] {0, 1, 0.25f}, 1));
        SteeringPlan plan = SteeringPlan.of(intervention(map), 1);
        assertArrayEquals(new float[] {-1, 1, 2}, throughNdArrays(plan, new float[] {-1, 0.5f, 2}));
        assertArrayEquals(new float[] {0, 1, 0.5f}, throughNdArrays(plan, new float[] {0, 1, 0.25f}));
    }

    @Test
    void linearActWorkedVectorAtHalfStrength() {
        // docs/steering-methods.md 7: ω=[3.2, 0.404762], β=[6.0, 0.892857], support [(1,4), (-1,5)]; λ=0.5 on [2.5, 6]
        AffineMap map = new AffineMap(new float[] {3.2f, 0.404762f}, new float[] {6.0f, 0.892857f},
                new float[] {1, -1}, new float[] {4, 5});
        float[] y = map.apply(new float[] {2.5f, 6.0f}, 0.5);
        assertArrayEquals(new float[] {8.25f, 6.0f}, y, 1e-6f);
        assertArrayEquals(y, throughNdArrays(SteeringPlan.of(intervention(map), 0.5), new float[] {2.5f, 6.0f}),
                1e-6f);
    }

    @Test
    void twoMapsFoldIntoOne() {
        // (ω=2, β=1) then (ω=3, β=-1) -> (ω=6, β=2); x=1 -> 8 either way
        Intervention first = intervention(AffineMap.of(new float[] {2}, new float[] {1}));
        Intervention second = intervention(AffineMap.of(new float[] {3}, new float[] {-1}));
        List<SteeringPlan.Step> steps = List.of(new SteeringPlan.Step(first, 1), new SteeringPlan.Step(second, 1));
        SteeringPlan folded = SteeringPlan.compose(steps);
        List<HookStage> stages = folded.stages().get(SITE);
        assertEquals(1, stages.size());
        assertArrayEquals(new float[] {6}, stages.get(0).omega());
        assertArrayEquals(new float[] {2}, stages.get(0).beta());
        assertArrayEquals(new float[] {8}, folded.apply(SITE, new float[] {1}));
        SteeringPlan sequential = SteeringPlan.sequential(steps);
        assertEquals(2, sequential.stages().get(SITE).size());
        assertArrayEquals(new float[] {8}, sequential.apply(SITE, new float[] {1}));
        assertArrayEquals(new float[] {8}, throughNdArrays(folded, new float[] {1}));
        assertArrayEquals(new float[] {8}, throughNdArrays(sequential, new float[] {1}));
    }

    @Test
    void strengthIsAppliedBeforeFolding() {
        // λ=0.5 each: ω1'=1.5, β1'=0.5; ω2'=2, β2'=-0.5 -> ω=3, β=2*0.5-0.5=0.5
        Intervention first = intervention(AffineMap.of(new float[] {2}, new float[] {1}));
        Intervention second = intervention(AffineMap.of(new float[] {3}, new float[] {-1}));
        SteeringPlan plan = SteeringPlan.compose(List.of(new SteeringPlan.Step(first, 0.5),
                new SteeringPlan.Step(second, 0.5)));
        HookStage stage = plan.stages().get(SITE).get(0);
        assertArrayEquals(new float[] {3}, stage.omega());
        assertArrayEquals(new float[] {0.5f}, stage.beta());
        float x = 1.7f;
        float once = first.maps().get(SITE).apply(new float[] {x}, 0.5)[0];
        float twice = second.maps().get(SITE).apply(new float[] {once}, 0.5)[0];
        assertEquals(twice, plan.apply(SITE, new float[] {x})[0], 1e-6f);
    }

    @Test
    void aSupportedMapIsAStageOfItsOwn() {
        Intervention free1 = intervention(AffineMap.of(new float[] {2}, new float[] {1}));
        Intervention supported = intervention(new AffineMap(new float[] {2}, new float[] {0}, new float[] {0},
                new float[] {1}));
        Intervention free2 = intervention(AffineMap.of(new float[] {3}, new float[] {-1}));
        Intervention free3 = intervention(AffineMap.of(new float[] {0.5f}, new float[] {0}));
        SteeringPlan plan = SteeringPlan.compose(List.of(new SteeringPlan.Step(free1, 1),
                new SteeringPlan.Step(supported, 1), new SteeringPlan.Step(free2, 1), new SteeringPlan.Step(free3, 1)));
        List<HookStage> stages = plan.stages().get(SITE);
        assertEquals(3, stages.size());
        assertTrue(stages.get(1).hasSupport());
        assertArrayEquals(new float[] {1.5f}, stages.get(2).omega());
        assertArrayEquals(new float[] {-0.5f}, stages.get(2).beta());
        // x=-0.2: free1 -> 0.6, inside (0,1) -> 1.2, free2 -> 2.6, free3 -> 1.3
        assertArrayEquals(new float[] {1.3f}, plan.apply(SITE, new float[] {-0.2f}), 1e-6f);
        assertArrayEquals(new float[] {1.3f}, throughNdArrays(plan, new float[] {-0.2f}), 1e-6f);
    }

    @Test
    void mapsThatComposeBeyondFloatsRangeAreRefusedNamingTheSite() {
        // each map is finite, as a map file must be; their product at one site is not
        Intervention huge = intervention(AffineMap.of(new float[] {1, 2e19f}, new float[] {0, 0}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SteeringPlan.compose(
                List.of(new SteeringPlan.Step(huge, 1), new SteeringPlan.Step(huge, 1))));
        assertTrue(e.getMessage().startsWith("site " + SITE.name() + ": the plan's maps there compose to omega 3.99")
                && e.getMessage().endsWith("E38, beta 0.0 at neuron 1, beyond float's range"), e.getMessage());
        assertEquals(1, SteeringPlan.compose(List.of(new SteeringPlan.Step(huge, 1))).stages().get(SITE).size());
    }

    @Test
    void strengthOutsideTheEngineRangeIsRefused() {
        Intervention i = intervention(AffineMap.of(new float[] {2}, new float[] {1}));
        assertThrows(IllegalArgumentException.class, () -> new SteeringPlan.Step(i, SteeringPlan.MAX_STRENGTH + 0.5));
        assertThrows(IllegalArgumentException.class, () -> new SteeringPlan.Step(i, -0.1));
        assertThrows(IllegalArgumentException.class, () -> new SteeringPlan.Step(i, Double.NaN));
        assertTrue(SteeringPlan.of(i, 0).isEmpty());
    }

    @Test
    void siteNamesRoundTripAndBadOnesAreNamed() {
        for (HookPoint p : HookPoint.values()) {
            HookSite site = new HookSite(3, p);
            assertEquals(site, HookSite.parse(site.name()));
            assertEquals(3 * SiteHook.POINTS + p.slot(), site.index());
        }
        assertEquals("layers.12.mlp_out", new HookSite(12, HookPoint.MLP_OUT).name());
        assertEquals(List.of(HookPoint.ATTN_NORM, HookPoint.ATTN_OUT, HookPoint.MLP_NORM, HookPoint.MLP_OUT,
                HookPoint.RESID), List.of(HookPoint.values()));
        for (String bad : new String[] {"layers.1.foo", "layer.1.resid", "layers.-1.resid", "layers.01.resid", "",
                "layers.1.resid.omega"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HookSite.parse(bad));
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
        assertTrue(new HookSite(0, HookPoint.RESID).compareTo(new HookSite(1, HookPoint.ATTN_NORM)) < 0);
        assertTrue(new HookSite(1, HookPoint.ATTN_NORM).compareTo(new HookSite(1, HookPoint.MLP_OUT)) < 0);
    }

    @Test
    void affineMapChecksItsLengths() {
        assertThrows(IllegalArgumentException.class, () -> AffineMap.of(new float[] {1, 2}, new float[] {0}));
        assertThrows(IllegalArgumentException.class,
                () -> new AffineMap(new float[] {1}, new float[] {0}, new float[] {0}, null));
        assertThrows(IllegalArgumentException.class,
                () -> new AffineMap(new float[] {1}, new float[] {0}, new float[] {0, 1}, new float[] {1, 2}));
    }

    static Intervention intervention(AffineMap map) {
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        maps.put(SITE, map);
        return new Intervention("test", Intervention.LINEAR_ACT, "sha256:test", "", Map.of(), maps);
    }

    /** x (width d) through the plan's per-batch NDArray hook at SITE, as the forward applies it (batch of 1). */
    private static float[] throughNdArrays(SteeringPlan plan, float[] x) {
        try (NDManager manager = NDManager.newBaseManager()) {
            int d = x.length;
            SteeringBatch batch = SteeringBatch.build(manager, List.of(plan), 1, d);
            NDArray in = manager.create(x).reshape(1, 1, d);
            return batch.hooks()[SITE.index()].apply(in).toFloatArray();
        }
    }
}
