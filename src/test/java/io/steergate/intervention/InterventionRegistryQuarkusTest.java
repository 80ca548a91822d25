package io.steergate.intervention;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import io.steergate.engine.model.HookPoint;
import io.steergate.engine.model.ModelFiles;
import io.steergate.engine.steering.AffineMap;
import io.steergate.engine.steering.HookSite;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.testing.DatabaseOutage;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.TestModel;
import io.steergate.testing.Turns;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import jakarta.persistence.PersistenceException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The registry over HTTP on the real PostgreSQL: upload, refusals that name the mismatch, promote, retire. */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
public class InterventionRegistryQuarkusTest {

    static final int LAYERS = 5;

    @Inject
    MeterRegistry metrics;

    @Inject
    InterventionRegistry registry;

    @Inject
    EntityManager entities;
    static final int DIM = 64;

    public static String fingerprint() throws IOException {
        return "sha256:" + ModelFiles.sha256(TestModel.dir().resolve(ModelFiles.CHECKPOINT));
    }

    /** A small random map at the resid sites of the given layers. */
    public static byte[] mapFile(String name, String fingerprint, int width, int... layers) {
        Random random = new Random(name.hashCode());
        TreeMap<HookSite, AffineMap> maps = new TreeMap<>();
        for (int layer : layers) {
            float[] omega = new float[width];
            float[] beta = new float[width];
            for (int i = 0; i < width; i++) {
                omega[i] = 1f + 0.05f * (float) random.nextGaussian();
                beta[i] = 0.05f * (float) random.nextGaussian();
            }
            maps.put(new HookSite(layer, HookPoint.RESID), AffineMap.of(omega, beta));
        }
        return InterventionFile.write(new Intervention(name, Intervention.MEAN_SHIFT, fingerprint, "test", Map.of(), maps));
    }

    static String name() {
        return "t-" + UUID.randomUUID().toString().substring(0, 8);
    }

    @Test
    void uploadPromoteAndRetireMoveVersionsThroughTheirLifecycle() throws IOException {
        String name = name();
        given().body(mapFile(name, fingerprint(), DIM, 0, 4)).contentType("application/octet-stream")
                .queryParam("kind", "style").queryParam("description", "a test map")
                .when().post("/v1/interventions/" + name + "/versions")
                .then().statusCode(201).body("version", equalTo(1)).body("status", equalTo("candidate"))
                .body("sites", equalTo(java.util.List.of("layers.0.resid", "layers.4.resid")));
        given().body(mapFile(name, fingerprint(), DIM, 1)).contentType("application/octet-stream")
                .when().post("/v1/interventions/" + name + "/versions")
                .then().statusCode(201).body("version", equalTo(2));

        given().when().post("/v1/interventions/" + name + "/versions/1/promote").then().statusCode(200).body("status", equalTo("active"));
        given().when().get("/v1/interventions/" + name).then().statusCode(200)
                .body("kind", equalTo("style")).body("activeVersion", equalTo(1));
        given().when().post("/v1/interventions/" + name + "/versions/2/promote").then().statusCode(200);
        given().when().get("/v1/interventions/" + name).then().statusCode(200)
                .body("activeVersion", equalTo(2)).body("versions.find { it.version == 1 }.status", equalTo("candidate"));

        given().when().post("/v1/interventions/" + name + "/versions/1/retire").then().statusCode(200).body("status", equalTo("retired"));
        given().when().post("/v1/interventions/" + name + "/versions/1/promote")
                .then().statusCode(409).body("code", equalTo("CONFLICT")).body("message", containsString("retired"));
        given().when().get("/v1/interventions").then().statusCode(200).body("name", hasItem(name));
    }

    /**
     * PostgreSQL away: a promotion and an upload are 503s with Retry-After (at the door, which reads the key from the
     * database); the registry's own promotion fails whole, the version in force stays in force, and the same
     * promotion works once the database is back, where the cached reads see it.
     */
    @Test
    void aPromoteDuringADatabaseOutageIsA503ThatChangesNothingAndWorksOnceItIsBack() throws IOException {
        String name = name();
        registry.upload(name, "style", null, mapFile(name, fingerprint(), DIM, 0), "test");
        registry.upload(name, "style", null, mapFile(name, fingerprint(), DIM, 1), "test");
        registry.promote(name, 1);

        byte[] third = mapFile(name, fingerprint(), DIM, 2);
        List<Response> answers = DatabaseOutage.ofTestApplication().whileAway(Duration.ofSeconds(15), () -> {
            Response promote = given().when().post("/v1/interventions/" + name + "/versions/2/promote");
            Response upload = given().body(third).contentType("application/octet-stream")
                    .when().post("/v1/interventions/" + name + "/versions");
            // the registry's own transaction, past the door (which needs the database to check the key)
            assertThrows(PersistenceException.class, () -> registry.promote(name, 2));
            return List.of(promote, upload);
        });
        for (Response answer : answers) {
            assertEquals(503, answer.statusCode(), answer.asString());
            assertTrue(answer.getHeader("Retry-After") != null, answer.headers().toString());
        }

        await().atMost(Duration.ofSeconds(30)).until(() -> given().when().get("/v1/interventions/" + name).statusCode() == 200);
        given().when().get("/v1/interventions/" + name).then().statusCode(200)
                .body("activeVersion", equalTo(1)).body("versions.size()", equalTo(2))
                .body("versions.find { it.version == 2 }.status", equalTo("candidate"));
        given().when().post("/v1/interventions/" + name + "/versions/2/promote").then().statusCode(200).body("status", equalTo("active"));
        assertEquals(Optional.of(2), registry.activeVersion(name));
    }

    /**
     * Two uploads of one new name at once (two trainers finishing together, a retried request) both store: the second
     * waits for the first to commit and draws the next version. Before, both drew version 1 (or both created the
     * definition) and the second failed on the unique key, throwing its finished training away.
     */
    @Test
    void concurrentUploadsOfOneNameTakeTurnsAndDrawSuccessiveVersions() throws Exception {
        String name = name();
        byte[] file = mapFile(name, fingerprint(), DIM, 0);
        Turns.Results<Integer, Integer> versions = Turns.secondWhileFirstUncommitted(entities,
                () -> registry.upload(name, "style", null, file, "first").version(),
                () -> registry.upload(name, "style", null, file, "second").version());
        assertEquals(new Turns.Results<>(1, 2), versions, "the second waited for the first and drew the next version");
    }

    /**
     * A retire of a version that a promote in flight has read: the two take turns, so the version ends as the later
     * of them says (retired). Before, the retire committed in between and the promote's commit made the retired
     * version active again.
     */
    @Test
    void aRetireDuringAPromoteOfTheSameVersionIsNotUndone() throws Exception {
        String name = name();
        for (int layer : new int[] {0, 1}) {
            registry.upload(name, "style", null, mapFile(name, fingerprint(), DIM, layer), "test");
        }
        registry.promote(name, 1);
        whileAPromoteIsUncommitted(name, 2, () -> registry.retire(name, 2));
        assertEquals("retired", registry.get(name).orElseThrow().versions().stream().filter(v -> v.version() == 2)
                .findFirst().orElseThrow().status());
    }

    /**
     * Two promotes of one intervention at once take turns: the later one is active. Before, the second tripped the
     * one-active-version index at its commit, a unique violation answered 500 with a stack trace.
     */
    @Test
    void twoPromotesOfOneInterventionAtOnceTakeTurns() throws Exception {
        String name = name();
        for (int layer : new int[] {0, 1, 2}) {
            registry.upload(name, "style", null, mapFile(name, fingerprint(), DIM, layer), "test");
        }
        registry.promote(name, 1);
        whileAPromoteIsUncommitted(name, 2, () -> registry.promote(name, 3));
        assertEquals(Optional.of(3), Optional.ofNullable(registry.get(name).orElseThrow().activeVersion()));
    }

    /** Runs {@code second} while a promote of {@code number} has run but not committed, then lets the promote commit. */
    private void whileAPromoteIsUncommitted(String name, int number, Runnable second) throws Exception {
        Turns.secondWhileFirstUncommitted(entities, () -> registry.promote(name, number), () -> {
            second.run();
            return null;
        });
    }

    /**
     * The cached reads see every committed change at once: one made through the registry, one written by another
     * transaction straight to the table (as another process, or an operator, would), and not a change rolled back.
     */
    @Test
    void cachedReadsFollowPromotionsAndRetirementsWhoeverCommitsThem() throws IOException {
        String name = name();
        registry.upload(name, "style", null, mapFile(name, fingerprint(), DIM, 0, 4), "test");
        registry.upload(name, "style", null, mapFile(name, fingerprint(), DIM, 1), "test");
        assertEquals(Optional.empty(), registry.activeVersion(name)); // cached: nothing active
        registry.promote(name, 1);
        assertEquals(Optional.of(1), registry.activeVersion(name));
        assertEquals(List.of("layers.0.resid", "layers.4.resid"), registry.activeSites(name));

        QuarkusTransaction.requiringNew().run(() -> entities.createNativeQuery(
                "update intervention_versions set status = 'retired' where name = ?1 and version = 1").setParameter(1, name).executeUpdate());
        assertEquals(Optional.empty(), registry.activeVersion(name));
        assertEquals(List.of(), registry.activeSites(name));

        assertThrows(RolledBack.class, () -> QuarkusTransaction.requiringNew().run(() -> {
            assertEquals(Optional.empty(), registry.activeVersion(name));
            registry.promote(name, 2);
            assertEquals(Optional.of(2), registry.activeVersion(name)); // its own change, within the transaction
            throw new RolledBack();
        }));
        registry.recordGate(name, 2, "PASSED"); // a committed change after the rolled-back one moves the counter again
        assertEquals(Optional.empty(), registry.activeVersion(name));
        assertTrue(registry.exists(name));
    }

    private static final class RolledBack extends RuntimeException {}

    @Test
    void aHundredUploadedNamesAddNoMetricSeriesPerName() throws IOException {
        List<String> kinds = List.of("toxicity", "style", "negation", "concept");
        for (int i = 0; i < 100; i++) {
            String name = name();
            given().body(mapFile(name, fingerprint(), DIM, 0)).contentType("application/octet-stream")
                    .queryParam("kind", kinds.get(i % kinds.size()))
                    .when().post("/v1/interventions/" + name + "/versions").then().statusCode(201);
        }
        var series = metrics.find("steergate.interventions.uploaded").counters();
        assertTrue(series.size() <= kinds.size(), series.size() + " series for 100 uploads");
        for (var counter : series) {
            assertEquals(List.of("kind"), counter.getId().getTags().stream().map(tag -> tag.getKey()).toList());
            assertTrue(kinds.contains(counter.getId().getTag("kind")), counter.getId().toString());
        }
        assertTrue(series.stream().mapToDouble(counter -> counter.count()).sum() >= 100);
    }

    @Test
    void mapFilesPythonsSafetensorsWouldRefuseAreAnswered422NamingTheProblem() throws IOException {
        String name = name();
        byte[] valid = mapFile(name, fingerprint(), DIM, 0); // beta at [0,256], omega at [256,512]
        String header = new String(valid, 8, (int) ByteBuffer.wrap(valid, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(),
                StandardCharsets.ISO_8859_1);
        int dataStart = 8 + header.length();

        byte[] nan = valid.clone();
        ByteBuffer.wrap(nan, dataStart, 4).order(ByteOrder.LITTLE_ENDIAN).putFloat(Float.NaN);
        byte[] infinity = valid.clone();
        ByteBuffer.wrap(infinity, dataStart + 256, 4).order(ByteOrder.LITTLE_ENDIAN).putFloat(Float.POSITIVE_INFINITY);
        Map<String, byte[]> refused = new LinkedHashMap<>();
        refused.put("tensor 'layers.0.resid.beta' holds NaN at index 0", nan);
        refused.put("tensor 'layers.0.resid.omega' holds Infinity at index 0", infinity);
        refused.put("has shape [-6]: -6 is negative", sameLength(valid, header, "\"shape\":[64]", "\"shape\":[-6]"));
        refused.put("which overlap tensor", sameLength(valid, header, "[256,512]", "[128,384]"));
        refused.put("1 trailing bytes", Arrays.copyOf(valid, valid.length + 1));
        refused.forEach((problem, file) -> given().body(file).contentType("application/octet-stream").queryParam("kind", "style")
                .when().post("/v1/interventions/" + name + "/versions")
                .then().statusCode(422).body("code", equalTo("MAP_REFUSED")).body("message", containsString(problem)));
        given().when().get("/v1/interventions/" + name).then().statusCode(404);
    }

    /** {@code file} with the first {@code from} in its header replaced by {@code to} of the same length. */
    private static byte[] sameLength(byte[] file, String header, String from, String to) {
        int at = header.indexOf(from);
        assertTrue(at >= 0 && from.length() == to.length(), header);
        byte[] out = file.clone();
        System.arraycopy(to.getBytes(StandardCharsets.ISO_8859_1), 0, out, 8 + at, to.length());
        return out;
    }

    @Test
    void aMapForAnotherModelIsRefusedNamingTheMismatch() throws IOException {
        String name = name();
        String other = "sha256:" + "ab".repeat(32);
        given().body(mapFile(name, other, DIM, 0)).contentType("application/octet-stream").queryParam("kind", "concept")
                .when().post("/v1/interventions/" + name + "/versions")
                .then().statusCode(422).body("code", equalTo("MAP_REFUSED"))
                .body("message", containsString(other)).body("message", containsString(fingerprint()));
        given().body(mapFile(name, fingerprint(), DIM + 1, 0)).contentType("application/octet-stream").queryParam("kind", "concept")
                .when().post("/v1/interventions/" + name + "/versions")
                .then().statusCode(422).body("message", containsString("width 65"));
        given().body(mapFile(name, fingerprint(), DIM, LAYERS)).contentType("application/octet-stream").queryParam("kind", "concept")
                .when().post("/v1/interventions/" + name + "/versions")
                .then().statusCode(422).body("message", containsString("layers.5.resid"));
        given().when().get("/v1/interventions/" + name).then().statusCode(404).body("code", equalTo("NOT_FOUND"));
    }

    @Test
    void aSiteIsCheckedAgainstTheWidthItsWorkerRegisteredForItsPoint() {
        String narrow = "sha256:" + "cd".repeat(32);
        // a served model whose resid point is narrower than its dim: the map must match the point, not dim. It has the
        // real model's depth, and it is removed again: the trainer checks sites against the latest registered model
        registry.registerServedModel("narrow-test-model", narrow, LAYERS, 8, Map.of("resid", 4));
        try {
            String name = name();
            given().body(mapFile(name, narrow, 8, 0)).contentType("application/octet-stream").queryParam("kind", "concept")
                    .when().post("/v1/interventions/" + name + "/versions")
                    .then().statusCode(422).body("code", equalTo("MAP_REFUSED")).body("message", containsString("width 8"));
            given().body(mapFile(name, narrow, 4, 0, 1)).contentType("application/octet-stream").queryParam("kind", "concept")
                    .when().post("/v1/interventions/" + name + "/versions")
                    .then().statusCode(201).body("sites", equalTo(java.util.List.of("layers.0.resid", "layers.1.resid")));
        } finally {
            QuarkusTransaction.requiringNew().run(() -> ServedModel.deleteById(narrow));
        }
    }

    @Test
    void malformedUploadsAreRefusedWithClearErrors() throws IOException {
        String name = name();
        given().body("not a safetensors file".getBytes()).contentType("application/octet-stream").queryParam("kind", "style")
                .when().post("/v1/interventions/" + name + "/versions")
                .then().statusCode(422).body("code", equalTo("MAP_REFUSED")).body("message", containsString("not a steergate.intervention/v1 map file"));
        given().body(mapFile("someone-else", fingerprint(), DIM, 0)).contentType("application/octet-stream").queryParam("kind", "style")
                .when().post("/v1/interventions/" + name + "/versions")
                .then().statusCode(422).body("message", containsString("'someone-else'"));
        given().body(mapFile(name, fingerprint(), DIM, 0)).contentType("application/octet-stream")
                .when().post("/v1/interventions/" + name + "/versions")
                .then().statusCode(400).body("message", containsString("kind: required"));
        given().body(mapFile(name, fingerprint(), DIM, 0)).contentType("application/octet-stream").queryParam("kind", "mood")
                .when().post("/v1/interventions/" + name + "/versions")
                .then().statusCode(400).body("message", containsString("got mood"));
        given().when().post("/v1/interventions/" + name + "/versions/7/promote").then().statusCode(404);
        byte[] tooShort = Arrays.copyOf(mapFile(name, fingerprint(), DIM, 0), 40);
        given().body(tooShort).contentType("application/octet-stream").queryParam("kind", "style")
                .when().post("/v1/interventions/" + name + "/versions")
                .then().statusCode(422).body("code", equalTo("MAP_REFUSED"));
    }
}
