package io.steergate.engine.steering;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.LlamaConfig;
import io.steergate.engine.model.SteeringBatch;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;

/**
 * Each site is checked against its own point's width, not the model's dim. Every point of the architecture is dim wide
 * today, so the checks are driven with a width per point of the test's own: resid 3 wide in a model whose other
 * points are 4 wide, as an FFN-hidden point would be hiddenDim wide.
 */
class SiteWidthTest {

    private static final String MODEL = "sha256:test";
    private static final int LAYERS = 2;
    private static final ToIntFunction<HookPoint> RESID_NARROWER = point -> point == HookPoint.RESID ? 3 : 4;
    private static final HookSite RESID = new HookSite(1, HookPoint.RESID);
    private static final HookSite ATTN_NORM = new HookSite(1, HookPoint.ATTN_NORM);

    @Test
    void everyPointOfThisArchitectureIsDimWide() {
        LlamaConfig config = new LlamaConfig(64, 172, 5, 8, 4, 512, 512, true);
        for (HookPoint point : HookPoint.values()) {
            assertEquals(64, point.width(config), point.wireName());
            assertEquals(64, new HookSite(2, point).width(config), point.wireName());
        }
    }

    @Test
    void aMapIsCheckedAgainstItsOwnSitesWidth() {
        Intervention fits = intervention(Map.of(RESID, ramp(3), ATTN_NORM, ramp(4)));
        assertDoesNotThrow(() -> fits.checkCompatible(LAYERS, RESID_NARROWER, MODEL));

        Intervention dimWideAtResid = intervention(Map.of(RESID, ramp(4)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> dimWideAtResid.checkCompatible(LAYERS, RESID_NARROWER, MODEL));
        assertTrue(e.getMessage().contains("width 4 at site layers.1.resid but the model's width there is 3"),
                e.getMessage());

        Intervention narrowAtAttnNorm = intervention(Map.of(ATTN_NORM, ramp(3)));
        e = assertThrows(IllegalArgumentException.class,
                () -> narrowAtAttnNorm.checkCompatible(LAYERS, RESID_NARROWER, MODEL));
        assertTrue(e.getMessage().contains("width 3 at site layers.1.attn_norm but the model's width there is 4"),
                e.getMessage());
    }

    @Test
    void aBatchSizesEachSitesArraysByItsOwnWidth() {
        // resid: omega = [1, 2, 3], beta 0 on x = 1 -> [1, 2, 3]; attn_norm: [1, 2, 3, 4] -> the same plus 4
        SteeringPlan plan = SteeringPlan.of(intervention(Map.of(RESID, ramp(3), ATTN_NORM, ramp(4))), 1);
        try (NDManager manager = NDManager.newBaseManager()) {
            SteeringBatch batch = SteeringBatch.build(manager, List.of(plan), LAYERS, RESID_NARROWER);
            NDArray three = manager.ones(new Shape(1, 1, 3));
            NDArray four = manager.ones(new Shape(1, 1, 4));
            assertArrayEquals(new float[] {1, 2, 3}, batch.hooks()[RESID.index()].apply(three).toFloatArray());
            assertArrayEquals(new float[] {1, 2, 3, 4}, batch.hooks()[ATTN_NORM.index()].apply(four).toFloatArray());

            SteeringPlan dimWideAtResid = SteeringPlan.of(intervention(Map.of(RESID, ramp(4))), 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SteeringBatch.build(manager, List.of(dimWideAtResid), LAYERS, RESID_NARROWER));
            assertTrue(e.getMessage().contains("width 4 at layer 1 resid; the model's width there is 3"),
                    e.getMessage());
        }
    }

    /** omega = 1, 2, ..., width; beta 0. */
    private static AffineMap ramp(int width) {
        float[] omega = new float[width];
        for (int i = 0; i < width; i++) {
            omega[i] = i + 1;
        }
        return AffineMap.of(omega, new float[width]);
    }

    private static Intervention intervention(Map<HookSite, AffineMap> maps) {
        return new Intervention("widths", Intervention.MEAN_SHIFT, MODEL, "", Map.of(), new TreeMap<>(maps));
    }
}
