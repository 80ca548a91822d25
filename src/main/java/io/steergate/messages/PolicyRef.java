package io.steergate.messages;

/** Which policy version decided a plan: its id and the sha256 of its content. */
public record PolicyRef(String id, String version) {}
