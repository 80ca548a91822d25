package io.steergate.engine.training;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Prompts split into those a training learns from and those it only measures: a seeded draw without replacement,
 * each part kept in the given order.
 *
 * @param train the prompts left for training
 * @param heldOut the prompts held out; empty when the share is 0
 */
record HeldOutSplit(List<String> train, List<String> heldOut) {

    HeldOutSplit {
        train = List.copyOf(train);
        heldOut = List.copyOf(heldOut);
    }

    /**
     * Holds out round(share · n) of the n prompts, at least one when the share is above 0.
     *
     * @throws IllegalArgumentException when the share is outside [0, 1) or would leave no prompt to train on
     */
    static HeldOutSplit of(List<String> prompts, double share, Random random) {
        if (!(share >= 0 && share < 1)) {
            throw new IllegalArgumentException("the held-out share must be in [0, 1), got " + share);
        }
        int n = prompts.size();
        int count = heldOutCount(n, share);
        if (count >= n) {
            throw new IllegalArgumentException("holding out " + count + " of " + n + " prompts leaves none to train on");
        }
        boolean[] held = new boolean[n];
        for (int i : CausalFit.draw(n, count, random)) {
            held[i] = true;
        }
        List<String> train = new ArrayList<>(n - count);
        List<String> heldOut = new ArrayList<>(count);
        for (int i = 0; i < n; i++) {
            (held[i] ? heldOut : train).add(prompts.get(i));
        }
        return new HeldOutSplit(train, heldOut);
    }

    /** How many of {@code n} prompts a split with {@code share} holds out: round(share · n), at least one above 0. */
    static int heldOutCount(int n, double share) {
        return share == 0 ? 0 : Math.max(1, (int) Math.round(share * n));
    }
}
