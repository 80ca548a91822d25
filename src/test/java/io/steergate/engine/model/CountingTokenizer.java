package io.steergate.engine.model;

import ai.djl.Device;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A tokenizer that records every text it encodes, around the model's own: tests of "tokenized once" and "truncated
 * before tokenizing" read {@link #encoded()}.
 */
public final class CountingTokenizer implements Tokenizer {

    private final Tokenizer inner;
    private final List<String> encoded = Collections.synchronizedList(new ArrayList<>());

    private CountingTokenizer(Tokenizer inner) {
        this.inner = inner;
    }

    /** A model whose tokenizer counts. Closing it closes the model. */
    public record Counted(LlamaModel model, CountingTokenizer tokenizer) implements AutoCloseable {
        @Override
        public void close() {
            model.close();
        }
    }

    /** The llama2.c model in {@code dir} on the CPU, its tokenizer wrapped in a counting one. */
    public static Counted load(Path dir) throws IOException {
        try (LlamaModel plain = LlamaModel.load(dir, DeviceChoice.CPU)) {
            CountingTokenizer counting = new CountingTokenizer(plain.tokenizer());
            byte[] bytes = Files.readAllBytes(dir.resolve(plain.name() + ".bin"));
            ByteBuffer weights = ByteBuffer.wrap(bytes, 7 * Integer.BYTES, bytes.length - 7 * Integer.BYTES)
                    .slice().order(ByteOrder.LITTLE_ENDIAN);
            return new Counted(LlamaModel.fromWeights(plain.config(), plain.name(), plain.fingerprint(), counting,
                    Device.cpu(), weights.asFloatBuffer()), counting);
        }
    }

    /** The texts encoded so far, in order. */
    public List<String> encoded() {
        synchronized (encoded) {
            return List.copyOf(encoded);
        }
    }

    @Override
    public int[] encode(String text) {
        encoded.add(text);
        return inner.encode(text);
    }

    @Override
    public int minTokens(String text) {
        return inner.minTokens(text);
    }

    @Override
    public String prefixOfAtLeast(String text, int tokens) {
        return inner.prefixOfAtLeast(text, tokens);
    }

    @Override
    public String decode(int[] tokens) {
        return inner.decode(tokens);
    }

    @Override
    public String decode(int previous, int[] tokens) {
        return inner.decode(previous, tokens);
    }

    @Override
    public int bos() {
        return inner.bos();
    }

    @Override
    public int eos() {
        return inner.eos();
    }

    @Override
    public int vocabSize() {
        return inner.vocabSize();
    }
}
