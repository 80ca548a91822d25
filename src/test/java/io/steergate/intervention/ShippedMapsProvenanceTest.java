package io.steergate.intervention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.engine.eval.PromptSet;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every map shipped under policies/ names the prompt sets it was fitted on: its training_data_sha256 is the sha256 a
 * stored prompt set of policies/prompts/{concept}.source.jsonl / .target.jsonl gets, so an ML engineer who imports
 * those sets can match a demo map to them; or, for the evaluation maps fitted on the model's own continuations
 * (policies/evaluation/measure.sh selfgen), of policies/evaluation/selfgen/{concept}.selfgen.source.jsonl / .target.jsonl
 * ({concept}.selfgen-desired.* for the maps named so: fitted towards continuations about to write the desired words).
 */
class ShippedMapsProvenanceTest {

    /** The fitting sets a map's file name names: the last ".selfgen." or ".selfgen-desired." in it. */
    private static final Pattern SELFGEN_SETS = Pattern.compile(".*\\.(selfgen(?:-desired)?)\\.");

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyShippedMapRecordsTheHashesOfItsPromptSets() throws IOException {
        List<Path> maps;
        try (Stream<Path> files = Stream.concat(Files.list(Path.of("policies/interventions")), Files.list(Path.of("policies/evaluation/maps")))) {
            maps = files.filter(f -> f.toString().endsWith(".safetensors")).sorted().toList();
        }
        assertTrue(maps.size() >= 3, "the demo maps are shipped: " + maps);
        for (Path map : maps) {
            String concept = map.getFileName().toString().split("\\.")[0];
            Map<String, String> provenance = InterventionRegistry.trainingData(metadata(map).path("training_data_sha256").asText());
            Matcher selfgen = SELFGEN_SETS.matcher(map.getFileName().toString());
            Path sets = selfgen.find()
                    ? Path.of("policies/evaluation/selfgen", concept + "." + selfgen.group(1))
                    : Path.of("policies/prompts", concept);
            for (String side : List.of("source", "target")) {
                String expected = PromptSet.read(Path.of(sets + "." + side + ".jsonl")).sha256();
                assertEquals(expected, provenance.get(side), map + " " + side);
            }
        }
    }

    /** The safetensors header's __metadata__: an 8-byte little-endian length, then that much JSON. */
    private static JsonNode metadata(Path map) throws IOException {
        byte[] bytes = Files.readAllBytes(map);
        long length = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return JSON.readTree(new String(bytes, 8, Math.toIntExact(length), StandardCharsets.UTF_8)).path("__metadata__");
    }
}
