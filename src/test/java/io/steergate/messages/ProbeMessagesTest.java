package io.steergate.messages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The additive probe fields of Job and JobResult: absent on the wire when unused, read back when present. */
class ProbeMessagesTest {

    private final ObjectMapper json = new ObjectMapper();

    @Test
    void aJobWithoutProbesIsWrittenAsBeforeAndReadsBackWithNone() throws Exception {
        Job job = new Job("g1", "acme", "stories260K", "p", 8, 0.0, 1.0, 7L, null, List.of(), 0L, false);
        String text = json.writeValueAsString(job);
        assertFalse(text.contains("probes"), text);
        assertEquals(List.of(), json.readValue(text, Job.class).probes());
        assertEquals(List.of(), json.readValue(text.replace("}", ",\"probes\":null}"), Job.class).probes());
    }

    @Test
    void probesAndTheirScoresRoundTrip() throws Exception {
        ProbeRequest probe = new ProbeRequest("meanness-probe", "kindness", "layers.2.resid", "a".repeat(64), "b".repeat(64));
        Job job = new Job("g1", "acme", "stories260K", "p", 8, 0.0, 1.0, 7L, null, List.of(), 0L, false, List.of(probe));
        assertEquals(job, json.readValue(json.writeValueAsString(job), Job.class));

        JobResult plain = new JobResult("g1", GenerationResult.Status.COMPLETED, "t", null, null, 0, 0, null, null);
        String text = json.writeValueAsString(plain);
        assertFalse(text.contains("probeScores"), text);
        assertNull(json.readValue(text, JobResult.class).probeScores());
        JobResult scored = new JobResult("g1", GenerationResult.Status.COMPLETED, "t", null, null, 0, 0, null, null, null,
                Map.of("meanness-probe", 0.25));
        String scoredText = json.writeValueAsString(scored);
        assertTrue(scoredText.contains("\"probeScores\":{\"meanness-probe\":0.25}"), scoredText);
        assertEquals(scored, json.readValue(scoredText, JobResult.class));
    }
}
