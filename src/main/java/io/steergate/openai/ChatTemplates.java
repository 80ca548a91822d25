package io.steergate.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The served model's chat template: steergate.openai.chat-template names one ({@code plain}, {@code llama3}), or
 * {@code auto} (the default) reads the model's tokenizer_config.json: a chat_template in the Llama 3 header format
 * selects {@code llama3}; none (stories260K ships none) selects {@code plain}.
 */
@ApplicationScoped
public class ChatTemplates {

    static final String AUTO = "auto";

    private final ChatTemplate served;

    @Inject
    public ChatTemplates(@ConfigProperty(name = "steergate.openai.chat-template", defaultValue = AUTO) String setting,
            @ConfigProperty(name = "steergate.model.dir") String modelDir, ObjectMapper json) {
        this.served = select(setting, Path.of(modelDir), json);
    }

    public ChatTemplate served() {
        return served;
    }

    static ChatTemplate select(String setting, Path modelDir, ObjectMapper json) {
        return switch (setting) {
            case PlainChatTemplate.NAME -> new PlainChatTemplate();
            case Llama3ChatTemplate.NAME -> new Llama3ChatTemplate();
            case AUTO -> shipsLlama3Template(modelDir, json) ? new Llama3ChatTemplate() : new PlainChatTemplate();
            default -> throw new IllegalArgumentException("steergate.openai.chat-template: must be auto, plain or llama3, got '"
                    + setting + "'");
        };
    }

    private static boolean shipsLlama3Template(Path modelDir, ObjectMapper json) {
        Path config = modelDir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(config)) {
            return false;
        }
        try {
            JsonNode template = json.readTree(config.toFile()).get("chat_template");
            return template != null && template.isTextual() && template.textValue().contains(Llama3ChatTemplate.HEADER_START);
        } catch (IOException e) {
            throw new UncheckedIOException("steergate.openai.chat-template=auto: cannot read " + config, e);
        }
    }
}
