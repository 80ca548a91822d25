package io.steergate.engine.model;

/** Why a row of a generation stopped. */
public enum StopReason {
    /** It produced the requested number of tokens. */
    MAX_TOKENS,
    /** The model produced EOS, or BOS, which llama2.c's run.c also treats as the end of a sequence. */
    END_OF_SEQUENCE,
    /** The next token would not fit in the model's context (seqLen). */
    CONTEXT_FULL,
    /** Its caller cancelled it (a streaming client went away); the tokens generated until then are kept. */
    CANCELLED
}
