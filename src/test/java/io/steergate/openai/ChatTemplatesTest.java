package io.steergate.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which template serves a model: named, or read off the model's tokenizer_config.json. */
class ChatTemplatesTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void autoSelectsLlama3WhenTheModelShipsItsHeaderTemplateAndPlainOtherwise(@TempDir Path dir) throws Exception {
        assertEquals("plain", ChatTemplates.select("auto", dir, JSON).name(), "no tokenizer_config.json (stories260K)");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\":\"{% for message in messages %}"
                + "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}{% endfor %}\"}");
        assertEquals("llama3", ChatTemplates.select("auto", dir, JSON).name());
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\":\"{{ '[INST]' }}\"}");
        assertEquals("plain", ChatTemplates.select("auto", dir, JSON).name(), "another format: the plain template");
        assertEquals("llama3", ChatTemplates.select("llama3", dir, JSON).name(), "named explicitly");
    }

    @Test
    void anUnknownSettingIsRefusedNamingTheProperty(@TempDir Path dir) {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> ChatTemplates.select("chatml", dir, JSON));
        assertEquals("steergate.openai.chat-template: must be auto, plain or llama3, got 'chatml'", refused.getMessage());
    }
}
