package io.steergate.engine.model;

/** Turns text into token ids and back, with the rules of the model's own tokenizer. */
public interface Tokenizer {

    /** Encodes {@code text} with a leading BOS token. */
    int[] encode(String text);

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
