package io.steergate.engine.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} (DJL's binding of the Rust tokenizers library) behind our {@link Tokenizer}:
 * the file's own normalizer, model and decoder; BOS and EOS are the model's (config.json), not the post-processor's.
 * Holds native memory: {@link LlamaModel#close()} closes it.
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final int bos;
    private final int eos;
    private final int vocabSize;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, int bos, int eos, int vocabSize) {
        this.tokenizer = tokenizer;
        this.bos = bos;
        this.eos = eos;
        this.vocabSize = vocabSize;
    }

    /**
     * Reads {@code tokenizer.json}.
     *
     * @param file the tokenizer.json file
     * @param bos the id that {@link #encode} puts first (config.json {@code bos_token_id})
     * @param eos the id that ends a generation (config.json {@code eos_token_id})
     * @param vocabSize the model's vocabulary size: decode refuses ids outside it
     * @throws IOException when the file cannot be read or parsed
     */
    public static HfTokenizer read(Path file, int bos, int eos, int vocabSize) throws IOException {
        // no special tokens from the post-processor (BOS is added here, once), no truncation, no padding, and no
        // clean-up of spaces before punctuation: the text decodes as the tokens spell it
        Map<String, String> options = Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false",
                "cleanUpTokenization", "false");
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.newInstance(file, options);
        } catch (RuntimeException e) {
            throw new IOException("cannot read tokenizer " + file + ": " + e.getMessage(), e);
        }
        return new HfTokenizer(tokenizer, bos, eos, vocabSize);
    }

    @Override
    public int[] encode(String text) {
        long[] ids = tokenizer.encode(text, false, false).getIds();
        int[] tokens = new int[ids.length + 1];
        tokens[0] = bos;
        for (int i = 0; i < ids.length; i++) {
            tokens[i + 1] = Math.toIntExact(ids[i]);
        }
        return tokens;
    }

    /**
     * 1 (BOS): no bound from the text's length holds for every tokenizer.json, whose normalizer and pre-tokenizer
     * may remove characters (Strip, Replace with nothing, whitespace splitting) or compose them (NFC, NFKC), and
     * whose model may fuse any run of unknown characters into one token. Encoding itself is native (the Rust
     * tokenizers library) and not quadratic.
     */
    @Override
    public int minTokens(String text) {
        return 1;
    }

    @Override
    public String decode(int[] tokens) {
        return decode(-1, tokens);
    }

    /**
     * The text that {@code tokens} add after {@code previous}: the decoder's output for previous and tokens together,
     * less its output for previous alone. Decoding them together lets the decoder see where the sequence starts
     * (SentencePiece-style decoders strip the leading space only there) and assemble bytes across tokens. Should
     * previous alone not decode to a prefix of the whole (a lone byte of a split code point), tokens decode alone.
     */
    @Override
    public String decode(int previous, int[] tokens) {
        return Tokenizer.withoutNul(decodeAfter(previous, tokens));
    }

    private String decodeAfter(int previous, int[] tokens) {
        long[] ids = new long[tokens.length + 1];
        for (int i = 0; i < tokens.length; i++) {
            ids[i + 1] = check(tokens[i]);
        }
        if (previous < 0) {
            return tokenizer.decode(Arrays.copyOfRange(ids, 1, ids.length), true);
        }
        ids[0] = check(previous);
        String whole = tokenizer.decode(ids, true);
        String head = tokenizer.decode(new long[] {ids[0]}, true);
        if (whole.startsWith(head)) {
            return whole.substring(head.length());
        }
        return tokenizer.decode(Arrays.copyOfRange(ids, 1, ids.length), true);
    }

    private long check(int token) {
        if (token < 0 || token >= vocabSize) {
            throw new IllegalArgumentException("token " + token + " is outside the vocabulary of " + vocabSize);
        }
        return token;
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int eos() {
        return eos;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
