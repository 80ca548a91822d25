package io.steergate.retraining;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class LossHistoryTest {

    @Test
    void aShortTrainingKeepsEveryFiniteStep() {
        LossHistory history = new LossHistory();
        assertTrue(history.isEmpty());
        history.add(1, 2.5);
        history.add(2, Double.NaN);
        history.add(3, 1.5);
        assertEquals(List.of(List.of(1, 2.5), List.of(3, 1.5)), history.points());
    }

    @Test
    void aLongTrainingIsThinnedEvenlyToAtMostFiveHundredPointsEndingAtItsLastStep() {
        LossHistory history = new LossHistory();
        int steps = 5_003;
        for (int step = 1; step <= steps; step++) {
            history.add(step, 1000.0 / step);
            assertTrue(history.points().size() <= LossHistory.MAX_POINTS, "step " + step);
        }
        List<List<Number>> points = history.points();
        assertTrue(points.size() > LossHistory.MAX_POINTS / 2, "thinned too far: " + points.size());
        assertEquals(steps, points.get(points.size() - 1).get(0));
        assertEquals(1000.0 / steps, points.get(points.size() - 1).get(1));
        // evenly spaced before the last point, in step order, each with its own step's loss
        int stride = points.get(1).get(0).intValue() - points.get(0).get(0).intValue();
        for (int i = 1; i < points.size() - 1; i++) {
            assertEquals(stride, points.get(i).get(0).intValue() - points.get(i - 1).get(0).intValue());
            assertEquals(1000.0 / points.get(i).get(0).intValue(), points.get(i).get(1));
        }
        assertTrue(points.get(0).get(0).intValue() <= stride, "the curve starts near the first step");
    }
}
