package io.steergate.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** GenerationInput rejects bad values with messages that name the field. */
class GenerationInputTest {

    @Test
    void rejectsBadValuesNamingTheField() {
        assertRejected("prompt", () -> new GenerationInput(null, 8, 0f, 1f, 0));
        assertRejected("maxTokens", () -> new GenerationInput("hi", 0, 0f, 1f, 0));
        assertRejected("temperature", () -> new GenerationInput("hi", 8, -0.1f, 1f, 0));
        assertRejected("temperature", () -> new GenerationInput("hi", 8, Float.NaN, 1f, 0));
        assertRejected("topP", () -> new GenerationInput("hi", 8, 1f, 0f, 0));
        assertRejected("topP", () -> new GenerationInput("hi", 8, 1f, 1.5f, 0));
        assertRejected("topP", () -> new GenerationInput("hi", 8, 1f, Float.NaN, 0));
    }

    @Test
    void acceptsTheEdges() {
        assertEquals("", new GenerationInput("", 1, 0f, 1f, -1).prompt());
        assertEquals(1f, new GenerationInput("x", 1, 2f, 1f, 0).topP());
    }

    @Test
    void deviceChoiceParsesAndNamesTheBadValue() {
        assertEquals(DeviceChoice.GPU, DeviceChoice.parse(" gpu "));
        assertEquals(DeviceChoice.AUTO, DeviceChoice.parse("AUTO"));
        assertRejected("tpu", () -> DeviceChoice.parse("tpu"));
    }

    private static void assertRejected(String field, Executable construction) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, construction);
        assertTrue(e.getMessage().contains(field), e.getMessage());
    }
}
