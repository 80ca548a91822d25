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

    /**
     * {@code text} with U+0000 written as U+FFFD. A model can emit the NUL byte (a byte-fallback token such as
     * {@code <0x00>}); PostgreSQL text cannot hold it, so the output could not be audited, and no reader wants it: the
     * replacement character already stands for bytes that are not text. Decoded text never carries U+0000.
     */
    static String withoutNul(String text) {
        return text.indexOf('\u0000') < 0 ? text : text.replace('\u0000', '\uFFFD');
    }

    /**
     * Decodes a whole sequence (control tokens such as BOS and EOS produce no text, U+0000 comes out as U+FFFD:
     * {@link #withoutNul}).
     */
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
