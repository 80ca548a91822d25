package io.steergate.gateway;

import java.time.Duration;

/**
 * Whether the gateway may decide requests yet. A decision taken before the policies, the registry and the demo
 * interventions are loaded would be wrong (a tenant "not covered", a style "not offered") and, results being
 * idempotent, wrong for good; so both doors wait here. Implemented where start-up is known (io.steergate.app).
 */
public interface DecisionGate {

    /** True once everything a decision reads is loaded. */
    boolean isOpen();

    /** Waits until the gate is open or {@code limit} has passed; true when open. */
    boolean await(Duration limit) throws InterruptedException;
}
