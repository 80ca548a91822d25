package io.steergate.intervention;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** An uploaded map's training_data_sha256 is its author's text: shown as provenance only in the one shape we write. */
class TrainingDataProvenanceTest {

    private static final String A = "a".repeat(64);
    private static final String B = "0123456789abcdef".repeat(4);

    @Test
    void readsTheSourceAndTargetHashesAFitRecords() {
        assertEquals(Map.of("source", A, "target", B),
                InterventionRegistry.trainingData("{\"source\":\"" + A + "\",\"target\":\"" + B + "\"}"));
    }

    @Test
    void anyOtherShapeIsNoProvenance() {
        for (String json : new String[] {null, "", "not json", "[]", "\"" + A + "\"", "{\"source\":\"" + A + "\"}",
                "{\"source\":\"" + A + "\",\"target\":\"" + B + "\",\"extra\":\"x\"}",
                "{\"source\":\"" + A.toUpperCase() + "\",\"target\":\"" + B + "\"}",
                "{\"source\":\"" + A + "0\",\"target\":\"" + B + "\"}",
                "{\"source\":1,\"target\":\"" + B + "\"}", "{\"source\":null,\"target\":\"" + B + "\"}",
                "{\"sources\":\"" + A + "\",\"target\":\"" + B + "\"}"}) {
            assertEquals(Map.of(), InterventionRegistry.trainingData(json), String.valueOf(json));
        }
    }
}
