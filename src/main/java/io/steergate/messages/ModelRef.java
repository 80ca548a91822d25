package io.steergate.messages;

/** Which model produced an output: its name and the sha256 of its weights. */
public record ModelRef(String name, String fingerprint) {}
