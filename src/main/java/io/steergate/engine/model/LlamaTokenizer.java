package io.steergate.engine.model;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * llama2.c's BPE tokenizer ({@code tok*.bin}), ported from run.c's {@code encode} and {@code decode}: a dummy
 * prefix space, per-code-point lookup with byte fallback, then greedy merges by score (the same tokens as run.c, in
 * O(n log n) rather than run.c's O(n²)).
 */
public final class LlamaTokenizer implements Tokenizer {

    private static final int BOS = 1;
    private static final int EOS = 2;
    /** Byte-fallback tokens: byte b is token b + 3 (after UNK, BOS, EOS). */
    private static final int BYTE_OFFSET = 3;
    /** run.c's starting best score: a merge must score above it. */
    private static final float NO_MERGE = -1e10f;

    private final byte[][] vocab; // (vocabSize) pieces as raw bytes
    private final float[] scores; // (vocabSize) merge priority
    /** Each piece's bytes as an ISO-8859-1 string (every byte one char): the keys of {@link #ids}. */
    private final String[] pieces;
    /** Piece, as in {@link #pieces}, to token id (the first id when pieces repeat). */
    private final Map<String, Integer> ids;
    /** The longest piece in bytes: the most text one token can spell (see {@link #minTokens}). */
    private final int maxPieceBytes;

    LlamaTokenizer(byte[][] vocab, float[] scores) {
        if (vocab.length != scores.length || vocab.length < BYTE_OFFSET + 256) {
            throw new IllegalArgumentException("a llama2.c vocabulary needs at least 259 pieces, got " + vocab.length);
        }
        for (int b = 0; b < 256; b++) {
            if (vocab[b + BYTE_OFFSET].length == 0) {
                // minTokens relies on every piece spelling at least the bytes it stands for
                throw new IllegalArgumentException("byte-fallback piece " + (b + BYTE_OFFSET) + " is empty");
            }
        }
        this.vocab = vocab;
        this.scores = scores;
        this.pieces = new String[vocab.length];
        this.ids = new HashMap<>(vocab.length * 2);
        int longest = 0;
        for (int id = 0; id < vocab.length; id++) {
            pieces[id] = key(vocab[id]);
            ids.putIfAbsent(pieces[id], id);
            longest = Math.max(longest, vocab[id].length);
        }
        this.maxPieceBytes = longest;
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
        return merge(tokens, n);
    }

    /**
     * run.c's merge rule: again and again, merge the adjacent pair whose joined piece is in the vocabulary with the
     * best score (the leftmost such pair when scores tie, and only scores above run.c's starting best of -1e10),
     * until no pair joins. run.c rescans the whole sequence for every merge, O(n²); here the candidate pairs wait in
     * a heap ordered by score, then position, over a linked list of symbols, O(n log n). A merge changes only the
     * pairs on either side of it: those are offered anew, and an entry whose pair no longer exists (a symbol merged
     * away or changed) is skipped when it surfaces. The left symbol of a pair keeps its index, so index order is
     * sequence order and the leftmost tie is the lowest index, as in run.c.
     *
     * @param symbols the initial symbols; overwritten
     * @param n how many of them are used
     */
    private int[] merge(int[] symbols, int n) {
        int[] next = new int[n]; // index of the following live symbol, n at the end
        int[] prev = new int[n]; // index of the preceding live symbol, -1 at the start
        for (int i = 0; i < n; i++) {
            next[i] = i + 1;
            prev[i] = i - 1;
        }
        PriorityQueue<Pair> candidates = new PriorityQueue<>(Math.max(1, n), Pair.ORDER);
        for (int i = 0; i + 1 < n; i++) {
            offer(candidates, symbols, i, i + 1);
        }
        int live = n;
        while (!candidates.isEmpty()) {
            Pair pair = candidates.poll();
            int left = pair.left;
            int right = pair.right;
            if (symbols[left] != pair.leftToken || next[left] != right || symbols[right] != pair.rightToken) {
                continue; // stale: one side merged or changed since this pair was offered
            }
            symbols[left] = pair.merged;
            symbols[right] = -1;
            next[left] = next[right];
            if (next[right] < n) {
                prev[next[right]] = left;
            }
            live--;
            if (prev[left] >= 0) {
                offer(candidates, symbols, prev[left], left);
            }
            if (next[left] < n) {
                offer(candidates, symbols, left, next[left]);
            }
        }
        int[] tokens = new int[live];
        int k = 0;
        for (int i = 0; i < n; i = next[i]) {
            tokens[k++] = symbols[i];
        }
        return tokens;
    }

    /** Queues the pair (left, right) when its joined piece is a token run.c would merge. */
    private void offer(PriorityQueue<Pair> candidates, int[] symbols, int left, int right) {
        Integer merged = ids.get(pieces[symbols[left]] + pieces[symbols[right]]);
        // run.c only takes a score above its starting best; that also keeps NaN scores out of the heap's order
        if (merged != null && scores[merged] > NO_MERGE) {
            candidates.add(new Pair(scores[merged], left, right, symbols[left], symbols[right], merged));
        }
    }

    /** A candidate merge of the symbols at {@code left} and {@code right}, as they were when it was offered. */
    private record Pair(float score, int left, int right, int leftToken, int rightToken, int merged) {

        /**
         * Best score first, then leftmost. Scores compare with {@code >} as run.c does, so -0.0 and 0.0 tie (where
         * {@link Float#compare} would order them).
         */
        static final Comparator<Pair> ORDER = (a, b) -> a.score > b.score ? -1
                : b.score > a.score ? 1 : Integer.compare(a.left, b.left);
    }

    /**
     * A lower bound on {@code encode(text).length} from the text's UTF-8 length alone, in one pass over its chars.
     * Each token stands for its piece: an initial symbol's piece is its code point's bytes or, for a byte-fallback
     * token, at least that one byte ({@code <0xXX>}); a merge's piece is the two pieces joined. So the pieces of
     * all tokens together spell at least BOS's piece, the dummy space and every byte of the text, and no token
     * spells more than the longest piece: tokens &gt;= ceil((|BOS piece| + 1 + utf8 bytes) / longest piece); the
     * empty text is BOS alone. For tok512.bin (longest piece 7 bytes) an 8,000-character ASCII text needs at least
     * 1,144.
     */
    @Override
    public int minTokens(String text) {
        long bytes = utf8Length(text);
        if (bytes == 0) {
            return 1;
        }
        long spelled = vocab[BOS].length + 1L + bytes;
        long atLeast = (spelled + maxPieceBytes - 1) / maxPieceBytes;
        return (int) Math.min(Integer.MAX_VALUE, atLeast);
    }

    /**
     * Walks the text's UTF-8 length as {@link #minTokens} counts it and cuts after the code point where that bound
     * reaches {@code tokens}.
     */
    @Override
    public String prefixOfAtLeast(String text, int tokens) {
        if (tokens <= 1) {
            return ""; // BOS alone
        }
        long spelled = vocab[BOS].length + 1L; // BOS's piece and the dummy space
        long needed = (long) tokens * maxPieceBytes - maxPieceBytes + 1; // ceil(spelled / max) >= tokens
        for (int i = 0; i < text.length(); ) {
            int width = utf8Width(text, i);
            i += width == 4 ? 2 : 1;
            spelled += width;
            if (spelled >= needed) {
                return text.substring(0, i);
            }
        }
        return text;
    }

    /**
     * The length of {@code text.getBytes(UTF_8)} without making the array: a surrogate pair is 4 bytes, and a lone
     * surrogate 1 (the encoder replaces it with '?').
     */
    static long utf8Length(String text) {
        long bytes = 0;
        for (int i = 0; i < text.length(); ) {
            int width = utf8Width(text, i);
            i += width == 4 ? 2 : 1;
            bytes += width;
        }
        return bytes;
    }

    /** The UTF-8 bytes of the code point at {@code i}: 4 exactly for a surrogate pair (two chars), 1 for a lone surrogate. */
    private static int utf8Width(String text, int i) {
        char c = text.charAt(i);
        if (c < 0x80) {
            return 1;
        }
        if (c < 0x800) {
            return 2;
        }
        if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
            return 4;
        }
        return Character.isSurrogate(c) ? 1 : 3;
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
        return Tokenizer.withoutNul(out.toString(StandardCharsets.UTF_8));
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
