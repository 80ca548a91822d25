package io.steergate.engine.training;

import io.steergate.engine.model.LlamaModel;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * One way of making an intervention from source and target prompts, as the command line, the training API, the trainer
 * and the map files know it. Every method is registered in {@link InterventionMethods}.
 */
public interface InterventionMethod {

    /** How requests and {@code steer fit --method} name it: {@code linear-act}. */
    String wireName();

    /** How the maps it makes record it ({@link Intervention#method()}): {@code LINEAR_ACT}. */
    String metadataName();

    /** What a training uses for what its caller leaves out. */
    default TrainingSettings defaults() {
        return TrainingSettings.DEFAULTS;
    }

    /** The fewest source prompts it can train on, after any held-out split. */
    default int minSourcePrompts() {
        return 1;
    }

    /** The fewest target prompts it can train on, after any held-out split. */
    default int minTargetPrompts() {
        return 1;
    }

    /** How many of a set's {@code prompts} a training with {@code settings} holds out to measure; 0 without a split. */
    default int heldOutPrompts(int prompts, TrainingSettings settings) {
        return 0;
    }

    /**
     * Refuses prompt sets too small for this method with these settings, before anything is trained: a set under its
     * minimum, or one its held-out split would leave under it. The fit refuses the same, only later.
     *
     * @param sourceName how the message names the source set; {@code targetName} likewise
     * @throws IllegalArgumentException whose message starts with the field to change ("source: ...", "heldOut: ...")
     */
    default void checkPromptCounts(String sourceName, int sourcePrompts, String targetName, int targetPrompts,
            TrainingSettings settings) {
        checkPromptCount("source", sourceName, sourcePrompts, minSourcePrompts(), settings);
        checkPromptCount("target", targetName, targetPrompts, minTargetPrompts(), settings);
    }

    private void checkPromptCount(String side, String name, int prompts, int min, TrainingSettings settings) {
        if (prompts < min) {
            throw new IllegalArgumentException(side + ": " + wireName() + " needs at least " + min + " " + side
                    + " prompts, '" + name + "' has " + prompts);
        }
        int heldOut = heldOutPrompts(prompts, settings);
        if (prompts - heldOut < min) {
            throw new IllegalArgumentException("heldOut: " + settings.heldOut() + " holds out " + heldOut + " of the "
                    + prompts + " " + side + " prompts of '" + name + "', leaving " + (prompts - heldOut)
                    + " to train on; " + wireName() + " needs at least " + min);
        }
    }

    /**
     * Refuses settings this method cannot train with.
     *
     * @throws IllegalArgumentException whose message starts with the field's name ("steps: ...")
     */
    default void check(TrainingSettings settings) {
        settings.checkBounds();
    }

    /**
     * Trains the intervention.
     *
     * @param source prompts showing the behaviour to remove
     * @param target prompts showing the desired behaviour
     * @param progress told after every step by methods that run in steps; never by the others
     * @param cancel checked between steps by methods that run in steps; once true they return the maps so far, marked
     *     cancelled
     * @param afterEachBatch run by every method after each batch of each pass that collects activations: a closed-form
     *     fit is nothing but such passes, so this is its only sign of life on a large set; an exception it throws ends
     *     the training
     * @throws IllegalArgumentException when the prompts or sites do not fit the model or the method
     */
    Trained fit(LlamaModel model, List<String> source, List<String> target, Request request,
            Consumer<Lineas.Progress> progress, BooleanSupplier cancel, Runnable afterEachBatch);

    /** {@link #fit(LlamaModel, List, List, Request, Consumer, BooleanSupplier, Runnable)} with nothing per batch. */
    default Trained fit(LlamaModel model, List<String> source, List<String> target, Request request,
            Consumer<Lineas.Progress> progress, BooleanSupplier cancel) {
        return fit(model, source, target, request, progress, cancel, () -> { });
    }

    /**
     * What to train.
     *
     * @param name the intervention's name
     * @param concept what it steers (free text)
     * @param sites where to train maps
     * @param gates token gates to train jointly with the maps, or null for none; only LinEAS trains them, the
     *     others refuse a request that asks
     */
    record Request(String name, String concept, List<HookSite> sites, TrainingSettings settings, JointGates gates) {

        public Request {
            Objects.requireNonNull(name, "name");
            concept = concept == null ? "" : concept;
            sites = List.copyOf(sites);
            Objects.requireNonNull(settings, "settings");
        }

        /** Without gates. */
        public Request(String name, String concept, List<HookSite> sites, TrainingSettings settings) {
            this(name, concept, sites, settings, null);
        }
    }

    /**
     * A training's result.
     *
     * @param intervention the maps, method {@link #metadataName()}
     * @param metrics what the method reports about the training (JSON-ready values; null where a number was not
     *     finite), in a stable order
     * @param cancelled true when the cancel signal stopped the training early
     * @param summary one line for a person: counts, losses, times
     */
    record Trained(Intervention intervention, Map<String, Object> metrics, boolean cancelled, String summary) {

        public Trained {
            Objects.requireNonNull(intervention, "intervention");
            metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics)); // keeps the order and null values
        }
    }
}
