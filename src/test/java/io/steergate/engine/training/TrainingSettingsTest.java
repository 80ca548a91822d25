package io.steergate.engine.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.steergate.engine.steering.ActivationCollector;
import io.steergate.engine.steering.HookSite;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The held-out share and the patience: off by default, bounded, carried into LinEAS's options; the pooling, mean by
 * default, carried into every method's.
 */
class TrainingSettingsTest {

    @Test
    void theDefaultsHoldNothingOutAndNeverStopEarly() {
        assertEquals(0.0, TrainingSettings.DEFAULTS.heldOut());
        assertEquals(0, TrainingSettings.DEFAULTS.patience());
        assertEquals(new TrainingSettings(300, 1e-2, 32, 0, 0, 0L, false, 0, 0,
                ActivationCollector.Pooling.MEAN, Proximal.Metric.LR, false), TrainingSettings.DEFAULTS);
        LineasOptions options = LineasOptions.of("n", "", List.of(HookSite.parse("layers.0.resid")));
        assertEquals(0.0, options.settings().heldOut());
        assertEquals(0, options.settings().patience());
    }

    @Test
    void theSettingsCarryIntoLineasOptions() {
        TrainingSettings s = TrainingSettings.DEFAULTS.withHeldOut(0.25).withPatience(40).withSeed(9);
        s.checkBounds();
        LineasOptions options = LineasOptions.of("n", "", List.of(HookSite.parse("layers.0.resid")), s);
        assertEquals(0.25, options.settings().heldOut());
        assertEquals(40, options.settings().patience());
        assertEquals(9, options.settings().seed());
        assertEquals(300, options.with(t -> t.withHeldOut(0.1).withPatience(5)).settings().steps());
    }

    @Test
    void thePoolingAndTheProxMetricCarryIntoTheOptionsAndKeepThroughTheOtherSetters() {
        assertEquals(ActivationCollector.Pooling.MEAN, TrainingSettings.DEFAULTS.pooling());
        TrainingSettings last = TrainingSettings.DEFAULTS.withPooling(ActivationCollector.Pooling.LAST).withSeed(3)
                .withSteps(7).withHeldOut(0.2);
        assertEquals(ActivationCollector.Pooling.LAST, last.pooling());
        List<HookSite> sites = List.of(HookSite.parse("layers.0.resid"));
        assertEquals(ActivationCollector.Pooling.LAST,
                LineasOptions.of("n", "", sites, last).with(s -> s.withSteps(2)).settings().pooling());
        assertEquals(ActivationCollector.Pooling.LAST, FitOptions.of("n", "", sites, last).withSeed(1).pooling());
        assertEquals(ActivationCollector.Pooling.MEAN, FitOptions.of("n", "", sites).pooling());
        TrainingSettings adam = TrainingSettings.DEFAULTS.withProxMetric(Proximal.Metric.ADAM).withGroupLasso(0.1);
        assertEquals(Proximal.Metric.ADAM,
                LineasOptions.of("n", "", sites, adam).with(s -> s.withSeed(2)).settings().proxMetric());
        assertEquals(Proximal.Metric.LR, LineasOptions.of("n", "", sites).settings().proxMetric());
        TrainingSettings lastSite = TrainingSettings.DEFAULTS.withLastSiteLoss(true).withGroupLasso(0.1).withSeed(4);
        assertTrue(LineasOptions.of("n", "", sites, lastSite)
                .with(s -> s.withSteps(3).withProxMetric(Proximal.Metric.ADAM)).settings().lastSiteLoss());
        assertFalse(LineasOptions.of("n", "", sites).settings().lastSiteLoss());
        List<HookSite> two = List.of(HookSite.parse("layers.3.resid"), HookSite.parse("layers.1.resid"));
        assertEquals(List.of(HookSite.parse("layers.1.resid"), HookSite.parse("layers.3.resid")),
                LineasOptions.of("n", "", two).lossSites(), "every site, in forward order");
        assertEquals(List.of(HookSite.parse("layers.3.resid")),
                LineasOptions.of("n", "", two).with(s -> s.withLastSiteLoss(true)).lossSites(),
                "the last site in forward order");
    }

    @Test
    void aPoolingIsParsedFromItsWireNameAndAnUnknownOneIsRefusedByName() {
        for (ActivationCollector.Pooling pooling : ActivationCollector.Pooling.values()) {
            assertEquals(pooling, ActivationCollector.Pooling.parse(pooling.wireName()));
        }
        for (String bad : new String[] {"first", "LAST", "", null}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ActivationCollector.Pooling.parse(bad));
            assertEquals("pooling: must be mean or last, got '" + bad + "'", e.getMessage());
        }
    }

    @Test
    void outOfBoundsValuesAreRefusedByName() {
        IllegalArgumentException share = assertThrows(IllegalArgumentException.class,
                () -> TrainingSettings.DEFAULTS.withHeldOut(0.6).checkBounds());
        assertTrue(share.getMessage().startsWith("heldOut:"), share.getMessage());
        IllegalArgumentException patience = assertThrows(IllegalArgumentException.class,
                () -> TrainingSettings.DEFAULTS.withPatience(-1).checkBounds());
        assertTrue(patience.getMessage().startsWith("patience:"), patience.getMessage());
        List<HookSite> sites = List.of(HookSite.parse("layers.0.resid"));
        assertThrows(IllegalArgumentException.class,
                () -> LineasOptions.of("n", "", sites).with(s -> s.withHeldOut(0.51)));
        assertThrows(IllegalArgumentException.class,
                () -> LineasOptions.of("n", "", sites).with(s -> s.withPatience(-3)));
    }
}
