package io.steergate.engine.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/** The keys and values of every layer for one batch, allocated once per generation. */
final class KvCache {

    private final NDArray[] keys; // per layer (B, nKvHeads, hs, columns): stored transposed, ready for q @ k^T
    private final NDArray[] values; // per layer (B, nKvHeads, columns, hs)
    private final NDList all;

    KvCache(NDManager manager, LlamaConfig config, int batch, int columns) {
        keys = new NDArray[config.nLayers()];
        values = new NDArray[config.nLayers()];
        all = new NDList();
        for (int l = 0; l < config.nLayers(); l++) {
            keys[l] = manager.zeros(new Shape(batch, config.nKvHeads(), config.headSize(), columns));
            values[l] = manager.zeros(new Shape(batch, config.nKvHeads(), columns, config.headSize()));
            all.add(keys[l]);
            all.add(values[l]);
        }
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
}
