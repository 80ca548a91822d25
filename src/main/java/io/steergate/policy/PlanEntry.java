package io.steergate.policy;

import io.steergate.messages.AppliedIntervention;

/**
 * One intervention of a decided plan: the catalog's active version, the strength after clamps and caps, and why it
 * is there ({@code rule:<name>}, {@code style:<name>}, {@code explicit} or {@code escalation:<rung>}).
 */
public record PlanEntry(String intervention, int version, double strength, String reason) {

    public AppliedIntervention toApplied() {
        return new AppliedIntervention(intervention, version, strength);
    }
}
