package io.steergate.openai;

import java.util.List;

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
}
