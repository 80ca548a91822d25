package io.steergate.engine.model;

/** Where generation's forwards run ({@link BatchForward}). */
public enum DecodePath {
    /** {@link #LOOPS} when the model is on the CPU, {@link #NDARRAY} on a GPU. */
    AUTO,
    /** Plain Java loops on the CPU ({@link LoopDecoder}): no per-operation cost, so small batches decode fast. */
    LOOPS,
    /** DJL NDArray operations on the model's device: a GPU's path, kept on the CPU for comparison and its tests. */
    NDARRAY
}
