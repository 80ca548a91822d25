package io.steergate.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The job topic naming rule: one topic per model id, and a clear refusal naming an id that cannot name one. */
class JobTopicsTest {

    @Test
    void aModelsJobTopicIsThePrefixAndItsId() {
        assertEquals("steer.jobs.stories260K", JobTopics.name(JobTopics.DEFAULT_PREFIX, "stories260K"));
        assertEquals("steer.jobs.Llama-3.2-1B_Instruct", JobTopics.name(JobTopics.DEFAULT_PREFIX, "Llama-3.2-1B_Instruct"));
        assertEquals("prod.jobs-m", JobTopics.name("prod.jobs-", "m"));
    }

    @Test
    void anIdThatCannotNameATopicIsRefusedNamingIt() {
        for (String model : new String[] {"llama 3", "llama/3", "modèle", ".hidden", "-x", "", "a".repeat(129), "x\ny"}) {
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                    () -> JobTopics.name(JobTopics.DEFAULT_PREFIX, model), model);
            assertTrue(refused.getMessage().contains("cannot name its job topic"), refused.getMessage());
            assertTrue(!refused.getMessage().contains("\n"), "one line: " + refused.getMessage());
        }
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> JobTopics.name(JobTopics.DEFAULT_PREFIX, "llama 3"));
        assertTrue(refused.getMessage().startsWith("model id 'llama 3' "), refused.getMessage());
        assertThrows(IllegalArgumentException.class, () -> JobTopics.name(JobTopics.DEFAULT_PREFIX, null));
    }

    @Test
    void noModelsTopicIsTheSharedJobDeadLetterTopic() {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> JobTopics.name(JobTopics.DEFAULT_PREFIX, "dlq"));
        assertTrue(refused.getMessage().contains("steer.jobs.dlq is the job dead-letter topic"), refused.getMessage());
    }

    @Test
    void aPrefixThatMakesNoTopicNameIsRefusedNamingIt() {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> JobTopics.name("steer jobs/", "m"));
        assertTrue(refused.getMessage().contains("steergate.jobs.topic-prefix 'steer jobs/'"), refused.getMessage());
        assertThrows(IllegalArgumentException.class, () -> JobTopics.name("p".repeat(200), "m".repeat(60)));
    }
}
