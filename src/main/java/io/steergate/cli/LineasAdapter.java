package io.steergate.cli;

import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import java.util.List;

/**
 * The one place where {@code fit --method lineas} meets the LinEAS trainer, so that the command compiles before the
 * trainer ({@code io.steergate.engine.training.Lineas}) is on this branch. Until then {@link #available()} is false
 * and {@code fit} refuses the method with a clear message. The trainer's shape, which {@link Params} mirrors:
 * {@code Lineas.train(model, source, target, new LineasOptions(name, concept, sites, steps, lr, 32, l1, group, seed))}
 * returning a {@code LineasFit} with {@code intervention()} and {@code lossHistory()}.
 */
final class LineasAdapter {

    /** What {@code fit} passes: the options of LinEAS's trainer (steering-methods.md 3.6-3.7). */
    record Params(String name, String concept, List<HookSite> sites, long seed, int steps, double lr, double l1,
            double group) {
    }

    /** What the trainer returns: the intervention and the loss of every step. */
    record Result(Intervention intervention, double[] lossHistory) {
    }

    private LineasAdapter() {
    }

    static boolean available() {
        return false;
    }

    static Result fit(LlamaModel model, List<String> source, List<String> target, Params params) {
        throw new UnsupportedOperationException("method lineas is not available in this build "
                + "(the LinEAS trainer is not on this branch yet)");
    }
}
