package io.steergate.openai;

import java.util.List;

/**
 * For models trained without a chat format (stories260K): one {@code role: content} line per message, then
 * {@code assistant:}, so the model continues the assistant's line.
 */
public final class PlainChatTemplate implements ChatTemplate {

    public static final String NAME = "plain";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String render(List<Message> messages) {
        StringBuilder prompt = new StringBuilder();
        for (Message message : messages) {
            prompt.append(message.role()).append(": ").append(message.content()).append('\n');
        }
        return prompt.append("assistant:").toString();
    }
}
