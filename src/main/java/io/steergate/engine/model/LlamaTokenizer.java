package io.steergate.engine.model;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * llama2.c's BPE tokenizer ({@code tok*.bin}), ported from run.c's {@code encode} and {@code decode}: a dummy
 * prefix space, per-code-point lookup with byte fallback, then greedy merges by score.
 */
public final class LlamaTokenizer implements Tokenizer {

    private static final int BOS = 1;
    private static final int EOS = 2;
    /** Byte-fallback tokens: byte b is token b + 3 (after UNK, BOS, EOS). */
    private static final int BYTE_OFFSET = 3;

    private final byte[][] vocab; // (vocabSize) pieces as raw bytes
    private final float[] scores; // (vocabSize) merge priority
    /** Piece bytes, held as an ISO-8859-1 string so that every byte maps to one char, to token id. */
    private final Map<String, Integer> ids;

    LlamaTokenizer(byte[][] vocab, float[] scores) {
        if (vocab.length != scores.length || vocab.length < BYTE_OFFSET + 256) {
            throw new IllegalArgumentException("a llama2.c vocabulary needs at least 259 pieces, got " + vocab.length);
        }
        this.vocab = vocab;
        this.scores = scores;
        this.ids = new HashMap<>(vocab.length * 2);
        for (int id = 0; id < vocab.length; id++) {
            ids.putIfAbsent(key(vocab[id]), id);
        }
    }

    /** Reads {@code tok*.bin}: int max_token_length, then per token float score, int len, len bytes. */
    public static LlamaTokenizer read(Path file, int vocabSize) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        try {
            in.getInt(); // max_token_length: not needed, pieces are read whole
            byte[][] vocab = new byte[vocabSize][];
            float[] scores = new float[vocabSize];
            for (int i = 0; i < vocabSize; i++) {
                scores[i] = in.getFloat();
                int len = in.getInt();
                vocab[i] = new byte[len];
                in.get(vocab[i]);
            }
            return new LlamaTokenizer(vocab, scores);
        } catch (RuntimeException e) {
            throw new IOException("cannot read tokenizer " + file + " with " + vocabSize + " tokens: " + e, e);
        }
    }

    @Override
    public int[] encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] tokens = new int[bytes.length + 2];
        int n = 0;
        tokens[n++] = BOS;
        if (bytes.length > 0) {
            tokens[n++] = ids.get(" "); // the dummy prefix, as sentencepiece's add_dummy_prefix
        }
        // one token per UTF-8 code point, or its bytes when the code point is not in the vocabulary
        int start = 0;
        while (start < bytes.length) {
            int end = start + 1;
            while (end < bytes.length && (bytes[end] & 0xC0) == 0x80 && end - start < 4) {
                end++;
            }
            Integer id = ids.get(new String(bytes, start, end - start, StandardCharsets.ISO_8859_1));
            if (id != null) {
                tokens[n++] = id;
            } else {
                for (int i = start; i < end; i++) {
                    tokens[n++] = (bytes[i] & 0xFF) + BYTE_OFFSET;
                }
            }
            start = end;
        }
        // merge the adjacent pair with the best score until none is in the vocabulary
        while (true) {
            float bestScore = -1e10f;
            int bestId = -1;
            int bestIdx = -1;
            for (int i = 0; i < n - 1; i++) {
                Integer id = ids.get(key(vocab[tokens[i]]) + key(vocab[tokens[i + 1]]));
                if (id != null && scores[id] > bestScore) {
                    bestScore = scores[id];
                    bestId = id;
                    bestIdx = i;
                }
            }
            if (bestIdx == -1) {
                break;
            }
            tokens[bestIdx] = bestId;
            System.arraycopy(tokens, bestIdx + 2, tokens, bestIdx + 1, n - bestIdx - 2);
            n--;
        }
        return java.util.Arrays.copyOf(tokens, n);
    }

    @Override
    public String decode(int[] tokens) {
        return decode(-1, tokens);
    }

    @Override
    public String decode(int previous, int[] tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int prev = previous;
        for (int token : tokens) {
            if (token < 0 || token >= vocab.length) {
                throw new IllegalArgumentException("token " + token + " is outside the vocabulary of " + vocab.length);
            }
            if (token != BOS && token != EOS) {
                byte[] piece = vocab[token];
                int from = 0;
                // run.c: following BOS, sentencepiece strips the leading whitespace of the piece
                if (prev == BOS && piece.length > 0 && piece[0] == ' ') {
                    from = 1;
                }
                int rawByte = rawByte(piece);
                if (rawByte >= 0) {
                    out.write(rawByte);
                } else {
                    out.write(piece, from, piece.length - from);
                }
            }
            prev = token;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The byte of a {@code <0xXX>} piece, or -1 for an ordinary piece. */
    private static int rawByte(byte[] piece) {
        if (piece.length == 6 && piece[0] == '<' && piece[1] == '0' && piece[2] == 'x' && piece[5] == '>') {
            int hi = Character.digit(piece[3], 16);
            int lo = Character.digit(piece[4], 16);
            if (hi >= 0 && lo >= 0) {
                return hi * 16 + lo;
            }
        }
        return -1;
    }

    private static String key(byte[] piece) {
        return new String(piece, StandardCharsets.ISO_8859_1);
    }

    @Override
    public int bos() {
        return BOS;
    }

    @Override
    public int eos() {
        return EOS;
    }

    @Override
    public int vocabSize() {
        return vocab.length;
    }
}
