package io.steergate.messages;

/**
 * A probe scorer a job asks its worker to evaluate during generation (a policy's {@code type: probe} scorer): the
 * scorer's name (its key in the scores), the intervention whose prompt sets train it, the hook site it reads, and the
 * sha256 of those sets as the gateway read them ({@code PromptSet.sha256}), so that a score always names exactly the
 * data its probe was trained on and a worker reading other files refuses to score rather than score differently.
 */
public record ProbeRequest(String name, String intervention, String site, String sourceSha256, String targetSha256) {

    /**
     * The most probe scorers a policy may have, so a job carries at most this many: each is a pooled vector on every
     * generation and, on first use, a probe to train.
     */
    public static final int MAX_PER_JOB = 8;
}
