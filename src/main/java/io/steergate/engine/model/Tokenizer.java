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
