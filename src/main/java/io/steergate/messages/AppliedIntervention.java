package io.steergate.messages;

/** One intervention of a plan, with the exact version and strength used. */
public record AppliedIntervention(String intervention, int version, double strength) {}
