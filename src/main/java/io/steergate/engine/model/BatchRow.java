package io.steergate.engine.model;

import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * One row of a {@link ContinuousBatch}: its prompt, what it may and did generate, its sampler, steering, pooling and
 * text sink. While it is in the batch its next input sits at the batch's current column c: {@code pad + prompt.length
 * + count - 1 == c}, and it feeds position {@code c - pad}.
 */
final class BatchRow {

    final ContinuousBatch.Ticket ticket;
    final int index; // within its unit
    final int[] prompt;
    final int budget; // tokens it may emit: maxTokens, or fewer when the context is short
    final int maxTokens;
    final RowSteering steering;
    final GeneratedPooling pooling; // one row
    final Collection<Integer> pooledSites; // never null
    private final Sampler sampler;
    private final ContinuousBatch.TokenSink sink;
    private final IncrementalText text; // null without a sink
    final int[] generated;
    int count;
    StopReason stop; // null while it runs
    boolean cancelled; // leaves at the next step
    int pad; // columns left of its first token

    BatchRow(ContinuousBatch.Ticket ticket, int index, ContinuousBatch.RowRequest request, int seqLen,
            LlamaConfig config, Tokenizer tokenizer) {
        GenerationInput input = request.input();
        this.ticket = ticket;
        this.index = index;
        this.prompt = request.promptTokens();
        this.maxTokens = input.maxTokens();
        this.budget = Math.min(input.maxTokens(), seqLen - prompt.length);
        this.steering = input.steering();
        this.pooledSites = request.pooledSites() == null ? List.of() : request.pooledSites();
        this.pooling = new GeneratedPooling(List.of(pooledSites), site -> SiteHook.point(site).width(config));
        this.sampler = new Sampler(input.temperature(), input.topP(), input.seed());
        this.sink = request.sink();
        this.text = sink == null ? null : new IncrementalText(tokenizer, prompt[prompt.length - 1]);
        this.generated = new int[budget];
        if (budget == 0) {
            stop = StopReason.CONTEXT_FULL;
        }
    }

    /** The token it feeds next: its last emitted token, or filler once it has stopped without one. */
    long last() {
        return count > 0 ? generated[count - 1] : 0;
    }

    int remaining() {
        return budget - count;
    }

    /** Samples its next token from {@code logits[offset, offset + vocab)}; whether it emitted a generated token. */
    boolean sample(float[] logits, int offset, int vocab, Tokenizer tokenizer) {
        int next = sampler.sample(Arrays.copyOfRange(logits, offset, offset + vocab));
        if (next == tokenizer.eos() || next == tokenizer.bos()) {
            stop = StopReason.END_OF_SEQUENCE;
            return false;
        }
        generated[count++] = next;
        if (count == budget) {
            stop = budget < maxTokens ? StopReason.CONTEXT_FULL : StopReason.MAX_TOKENS;
        }
        if (text != null) {
            IncrementalText.Piece piece = text.next(generated, count);
            if (piece != null) {
                sink.emitted(piece.index(), piece.tokens(), piece.text());
            }
        }
        return true;
    }

    /** Its completion (flushing the rest of its text to the sink). */
    Completion completion(Tokenizer tokenizer) {
        String all = tokenizer.decode(prompt[prompt.length - 1], Arrays.copyOf(generated, count));
        if (text != null) {
            IncrementalText.Piece piece = text.finish(all, count);
            if (piece != null) {
                sink.emitted(piece.index(), piece.tokens(), piece.text());
            }
        }
        return new Completion(all, prompt.length, count, stop, pooling.means(0));
    }
}
