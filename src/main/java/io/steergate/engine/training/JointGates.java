package io.steergate.engine.training;

import java.util.List;
import java.util.Objects;

/**
 * Token gates trained jointly with LinEAS maps (end-to-end DSAS, arXiv 2512.03661): per site a gate
 * g = sigmoid(a . x + c) on the map's input scales the map per token, y = x + g (ω x + β − x), and a, c train with
 * ω, β. The loss adds to LinEAS's distributional term a control term: the mean squared displacement y − x the maps
 * cause on the control prompts' tokens, over every site, times {@code controlWeight}. So the maps may move the source
 * prompts' tokens only where moving the control prompts' tokens would not be needed; the two-step DSAS
 * ({@link TokenGates}) instead fits the gates afterwards on pooled activations. The losses a fit reports are the sum
 * of both terms; held-out W1 and early stopping measure the distributional side alone. A seed reproduces the gated maps
 * to float rounding; once, in a test JVM, two identical fits differed in the last bits (cause not found, see
 * JointGatesTest), where LinEAS without gates has always agreed to the bit.
 *
 * <p>The paper trains the gates jointly with LinEAS "with a control regulariser"; its exact form is not in the sources
 * this project has (docs/steering-methods.md), so this one, the maps' own displacement of control tokens, is this
 * project's choice.
 *
 * @param control prompts whose tokens the maps should leave alone (for example the target prompts, which are the
 *     source prompts with the concept swapped out); not held out, never part of the distributional term
 * @param controlWeight weight of the control term, positive and finite
 */
public record JointGates(List<String> control, double controlWeight) {

    public JointGates {
        control = List.copyOf(Objects.requireNonNull(control, "control"));
        if (control.isEmpty()) {
            throw new IllegalArgumentException("control: joint gates need at least one control prompt");
        }
        if (!(controlWeight > 0) || !Double.isFinite(controlWeight)) {
            throw new IllegalArgumentException("controlWeight: must be positive and finite, got " + controlWeight);
        }
    }
}
