package io.steergate.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * The keys and values of every layer for one batch. A continuous batch reshapes it between steps (rows leave, rows
 * join, columns are trimmed or added): each reshape replaces the arrays and closes the old ones.
 */
final class KvCache {

    private static final int KEY_COLUMNS = 3; // keys (B, nKvHeads, hs, columns): stored transposed, ready for q @ k^T
    private static final int VALUE_COLUMNS = 2; // values (B, nKvHeads, columns, hs)

    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private NDList all;

    KvCache(NDManager manager, LlamaConfig config, int batch, int columns) {
        this.manager = manager;
        keys = new NDArray[config.nLayers()];
        values = new NDArray[config.nLayers()];
        for (int l = 0; l < config.nLayers(); l++) {
            keys[l] = manager.zeros(new Shape(batch, config.nKvHeads(), config.headSize(), columns));
            values[l] = manager.zeros(new Shape(batch, config.nKvHeads(), columns, config.headSize()));
        }
        collect();
    }

    NDArray keys(int layer) {
        return keys[layer];
    }

    NDArray values(int layer) {
        return values[layer];
    }

    NDList all() {
        return all;
    }

    /**
     * Keeps the rows {@code rows} (ascending) and the columns [from, from + width) of the old ones: a column outside
     * the old ones (from negative, or past the end) is zeros. Keys are stored rotated, so moving columns changes
     * nothing a row reads.
     */
    void reshape(int[] rows, int from, int width) {
        for (int l = 0; l < keys.length; l++) {
            keys[l] = reshape(keys[l], rows, from, width, KEY_COLUMNS);
            values[l] = reshape(values[l], rows, from, width, VALUE_COLUMNS);
        }
        collect();
    }

    /** Appends the rows of {@code joiners} (of the same width) after these; closes its arrays. */
    void append(KvCache joiners) {
        for (int l = 0; l < keys.length; l++) {
            keys[l] = concat(List.of(keys[l], joiners.keys[l]), 0);
            values[l] = concat(List.of(values[l], joiners.values[l]), 0);
        }
        collect();
    }

    void close() {
        all.forEach(NDArray::close);
    }

    private void collect() {
        all = new NDList();
        for (int l = 0; l < keys.length; l++) {
            all.add(keys[l]);
            all.add(values[l]);
        }
    }

    private NDArray reshape(NDArray old, int[] rows, int from, int width, int axis) {
        Shape shape = old.getShape();
        int oldRows = (int) shape.get(0);
        int oldWidth = (int) shape.get(axis);
        List<NDArray> runs = new ArrayList<>();
        for (int i = 0; i < rows.length;) {
            int j = i + 1;
            while (j < rows.length && rows[j] == rows[j - 1] + 1) {
                j++;
            }
            if (i == 0 && j == rows.length && rows[0] == 0 && rows.length == oldRows) {
                break; // every row kept
            }
            runs.add(old.get("{}:{}", rows[i], rows[j - 1] + 1));
            i = j;
        }
        NDArray kept = runs.isEmpty() ? old : concat(runs, 0);
        int lo = Math.max(from, 0);
        int hi = Math.min(from + width, oldWidth);
        int left = Math.min(Math.max(-from, 0), width);
        int middle = Math.max(hi - lo, 0);
        int right = width - left - middle;
        List<NDArray> parts = new ArrayList<>();
        if (left > 0) {
            parts.add(manager.zeros(withAxis(kept.getShape(), axis, left)));
        }
        if (middle > 0) {
            parts.add(kept.get(columns(axis, lo, hi)));
        }
        if (right > 0) {
            parts.add(manager.zeros(withAxis(kept.getShape(), axis, right)));
        }
        NDArray out = concat(parts, axis);
        if (kept != old) {
            kept.close();
        }
        old.close();
        return out;
    }

    /** The parts concatenated along {@code axis} in a new array of this cache's manager; closes the parts. */
    private NDArray concat(List<NDArray> parts, int axis) {
        NDArray out = parts.size() == 1 ? parts.get(0).duplicate() : NDArrays.concat(new NDList(parts), axis);
        out.attach(manager);
        parts.forEach(NDArray::close);
        return out;
    }

    private static NDIndex columns(int axis, int lo, int hi) {
        return new NDIndex(":, ".repeat(axis) + "{}:{}", lo, hi);
    }

    private static Shape withAxis(Shape shape, int axis, long size) {
        long[] dims = shape.getShape();
        dims[axis] = size;
        return new Shape(dims);
    }
}
