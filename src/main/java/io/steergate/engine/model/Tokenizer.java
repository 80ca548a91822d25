package io.steergate.engine.model;

/** Turns text into token ids and back, with the rules of the model's own tokenizer. */
public interface Tokenizer {

    /** Encodes {@code text} with a leading BOS token. */
    int[] encode(String text);

    /**
     * A lower bound on {@code encode(text).length}, computed from the text's length in one pass, without encoding:
     * when it already exceeds a limit, the text cannot fit and need not be encoded. Never more than the true count;
     * a tokenizer that can prove nothing better answers 1 (BOS).
     */
    int minTokens(String text);

    /**
     * The shortest prefix of {@code text} that {@link #minTokens} already proves to encode to at least {@code tokens}
     * tokens, found in one pass without encoding; {@code text} itself when no shorter prefix is proven to. Cutting a
     * text there before encoding it still leaves a model that takes {@code tokens} tokens a full context, while the
     * tokenizer never sees the rest. Never splits a surrogate pair. A tokenizer that can prove nothing (minTokens is
     * always 1) answers {@code text}.
     */
    default String prefixOfAtLeast(String text, int tokens) {
        return text;
    }

    /** Decodes a whole sequence (control tokens such as BOS and EOS produce no text). */
    String decode(int[] tokens);

    /**
     * Decodes {@code tokens} as the continuation of a sequence whose last token is {@code previous}: the text that
     * those tokens add. Bytes are assembled across tokens before being read as UTF-8.
     */
    String decode(int previous, int[] tokens);

    int bos();

    int eos();

    int vocabSize();
}
