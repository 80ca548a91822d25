package io.steergate.policy;

/**
 * An import of interventions under way at start (the demo interventions of policies/interventions/), implemented
 * where it runs. Until it has settled, a policy refused only because an intervention it names is not registered yet
 * is expected: it comes into force once the import is in, so the engine reports it quietly, and loudly if it is
 * still refused afterwards.
 */
public interface InterventionImport {

    /** True once there is nothing (more) to import. */
    boolean settled();
}
