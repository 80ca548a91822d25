package io.steergate.openai;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The header format of Meta's Llama 3 instruct models: each message as
 * {@code <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>}, then the assistant's header. The
 * {@code <|begin_of_text|>} their template starts with is the BOS token, which the engine adds itself.
 */
public final class Llama3ChatTemplate implements ChatTemplate {

    public static final String NAME = "llama3";
    /** What a tokenizer_config.json chat_template of this format contains. */
    static final String HEADER_START = "<|start_header_id|>";

    @Override
    public String name() {
        return NAME;
    }

    /** Llama 3's special tokens are all spelled {@code <|name|>}: the header and turn markers and the reserved ones. */
    private static final Pattern SPECIAL_TOKEN = Pattern.compile("<\\|[A-Za-z0-9_]+\\|>");

    @Override
    public Optional<Pattern> specialTokens() {
        return Optional.of(SPECIAL_TOKEN);
    }

    @Override
    public String render(List<Message> messages) {
        StringBuilder prompt = new StringBuilder();
        for (Message message : messages) {
            header(prompt, message.role()).append(message.content().strip()).append("<|eot_id|>");
        }
        return header(prompt, "assistant").toString();
    }

    private static StringBuilder header(StringBuilder prompt, String role) {
        return prompt.append(HEADER_START).append(role).append("<|end_header_id|>\n\n");
    }
}
