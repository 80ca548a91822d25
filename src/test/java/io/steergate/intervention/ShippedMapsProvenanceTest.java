package io.steergate.intervention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
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
 * those sets can match a map to them (a demo map: the sets of the evaluation map it is, below); or, for the evaluation
 * maps fitted on the model's own continuations
 * (policies/evaluation/measure.sh selfgen), of policies/evaluation/selfgen/{concept}.selfgen.source.jsonl / .target.jsonl
 * ({concept}.selfgen-desired.* for the maps named so: fitted towards continuations about to write the desired words;
 * {concept}.selfgen80.* for the maps fitted on the sets from 80 seed blocks, measure.sh selfgen80;
 * {concept}.selfgen-n32-k{k}.* for the maps fitted on subset k of 32 pairs, measure.sh low-data).
 */
class ShippedMapsProvenanceTest {

    /**
     * The fitting sets a map's file name names: the last ".selfgen.", ".selfgen80.", ".selfgen-desired." or
     * ".selfgen-n32-k{k}." in it.
     */
    private static final Pattern SELFGEN_SETS = Pattern.compile(".*\\.(selfgen(?:80)?(?:-desired|-n32-k\\d+)?)\\.");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Where a demo map comes from: the evaluation map, the strength it is stored at, the sets it was fitted on. */
    private record DemoMapSource(String evaluationMap, double strength, Path sets) {}

    private static final Map<String, DemoMapSource> DEMO_MAP_SOURCES = Map.of(
            "no-dogs", new DemoMapSource("no-dogs.lineas.r4.s1.last-token-gated.selfgen", 1,
                    Path.of("policies/evaluation/selfgen/no-dogs.selfgen")),
            "kindness", new DemoMapSource("kindness.mean-shift.resid", 2, Path.of("policies/prompts/kindness")),
            "cheerful", new DemoMapSource("cheerful.mean-shift.resid", 2, Path.of("policies/prompts/cheerful")));

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
            if (map.startsWith("policies/interventions")) {
                sets = DEMO_MAP_SOURCES.get(concept).sets();
            }
            for (String side : List.of("source", "target")) {
                String expected = PromptSet.read(Path.of(sets + "." + side + ".jsonl")).sha256();
                assertEquals(expected, provenance.get(side), map + " " + side);
            }
        }
    }

    /**
     * Each demo map is the evaluation map whose measurement index.txt cites, at the strength it names
     * (policies/evaluation/measure.sh ship writes them): what was measured is what ships.
     */
    @Test
    void eachDemoMapIsTheEvaluationMapItsMeasurementNames() throws IOException {
        for (Map.Entry<String, DemoMapSource> demo : DEMO_MAP_SOURCES.entrySet()) {
            Intervention shipped = InterventionFile.read(Path.of("policies/interventions", demo.getKey() + ".safetensors"));
            Intervention measured = InterventionFile.read(Path.of("policies/evaluation/maps",
                    demo.getValue().evaluationMap() + ".safetensors"));
            assertEquals(measured.method(), shipped.method(), demo.getKey());
            assertEquals(measured.maps().keySet(), shipped.maps().keySet(), demo.getKey());
            measured.maps().forEach((site, map) -> assertEquals(map.scaled(demo.getValue().strength()),
                    shipped.maps().get(site), demo.getKey() + " at " + site.name()));
        }
    }

    /** The safetensors header's __metadata__: an 8-byte little-endian length, then that much JSON. */
    private static JsonNode metadata(Path map) throws IOException {
        byte[] bytes = Files.readAllBytes(map);
        long length = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return JSON.readTree(new String(bytes, 8, Math.toIntExact(length), StandardCharsets.UTF_8)).path("__metadata__");
    }
}
