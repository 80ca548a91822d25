package io.steergate.engine.model;

import java.util.List;
import java.util.SortedMap;

/**
 * The steering of one generation row, folded once per request: for each hook site it touches (keyed by
 * {@link SiteHook#index(int, HookPoint)}), the ordered stages to apply there. The steering package's plans implement
 * it; the {@link Generator} turns the rows of a batch into per-batch arrays once ({@link SteeringBatch}).
 */
public interface RowSteering {

    /** Stages per site index, sites in forward order; a site absent or with no stages is untouched. */
    SortedMap<Integer, List<HookStage>> stagesBySite();
}
