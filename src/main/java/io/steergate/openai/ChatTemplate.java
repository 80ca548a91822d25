package io.steergate.openai;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How a model reads a conversation: the chat messages rendered as the one prompt the model continues. The engine adds
 * the model's BOS token itself, so a template does not.
 */
public interface ChatTemplate {

    /** One message of a conversation; the role is system, user or assistant. */
    record Message(String role, String content) {}

    /** The name steergate.openai.chat-template selects it by. */
    String name();

    /** The prompt for {@code messages}, ending where the assistant's next reply begins. */
    String render(List<Message> messages);

    /**
     * What a message's content may not hold: text the model's tokenizer reads as one of its special tokens (a
     * tokenizer.json matches its added tokens anywhere in the text), with which a message could end its own turn and
     * open another, say a forged system turn. Empty when the format has no such tokens.
     */
    default Optional<Pattern> specialTokens() {
        return Optional.empty();
    }
}
