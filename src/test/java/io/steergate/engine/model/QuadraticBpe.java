package io.steergate.engine.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The reference for {@link LlamaTokenizer#encode}: run.c's {@code encode} as first ported, with its quadratic merge
 * loop (rescan every adjacent pair, merge the first with the best score, repeat). Test sources only: the property
 * test checks the O(n log n) encoder against it token for token, and TokenizerBench times both.
 */
public final class QuadraticBpe {

    private final byte[][] vocab;
    private final float[] scores;
    private final Map<String, Integer> ids = new HashMap<>();

    QuadraticBpe(byte[][] vocab, float[] scores) {
        this.vocab = vocab;
        this.scores = scores;
        for (int id = 0; id < vocab.length; id++) {
            ids.putIfAbsent(key(vocab[id]), id);
        }
    }

    /** Reads {@code tok*.bin} as {@link LlamaTokenizer#read} does. */
    public static QuadraticBpe read(Path file, int vocabSize) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        in.getInt();
        byte[][] vocab = new byte[vocabSize][];
        float[] scores = new float[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            scores[i] = in.getFloat();
            vocab[i] = new byte[in.getInt()];
            in.get(vocab[i]);
        }
        return new QuadraticBpe(vocab, scores);
    }

    /** The O(n log n) encoder over the same vocabulary. */
    LlamaTokenizer fast() {
        return new LlamaTokenizer(vocab, scores);
    }

    public int[] encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] tokens = new int[bytes.length + 2];
        int n = 0;
        tokens[n++] = 1;
        if (bytes.length > 0) {
            tokens[n++] = ids.get(" ");
        }
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
                    tokens[n++] = (bytes[i] & 0xFF) + 3;
                }
            }
            start = end;
        }
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
        return Arrays.copyOf(tokens, n);
    }

    private static String key(byte[] piece) {
        return new String(piece, StandardCharsets.ISO_8859_1);
    }
}
