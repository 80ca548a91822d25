package io.steergate.messages;

/**
 * The value of a steer.retraining record (key: the intervention's name): which stored retraining job to run. The job's
 * row holds everything else, so a redelivered record can be checked against the job's status.
 */
public record RetrainingRequest(String jobId) {}
