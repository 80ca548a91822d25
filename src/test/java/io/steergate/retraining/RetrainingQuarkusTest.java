package io.steergate.retraining;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.anyOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.steergate.engine.eval.PromptSet;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.TopicClient;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Retraining over HTTP on the real broker and database: prompt sets imported from policies/prompts, jobs queued through
 * the outbox onto steer.retraining, trained by the trainer role, stored as intervention versions.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class RetrainingQuarkusTest {

    static final Duration WAIT = Duration.ofSeconds(60);
    /** A job with an evaluation also generates 2 x steergate.retraining.gate.generations continuations. */
    static final Duration GATE_WAIT = Duration.ofMinutes(5);

    @Inject
    GateSpecs gateSpecs;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    static String read(String file) throws IOException {
        return Files.readString(Path.of("policies/prompts", file), StandardCharsets.UTF_8);
    }

    static String name() {
        return "kind-test-" + UUID.randomUUID().toString().substring(0, 8);
    }

    @BeforeEach
    void importPromptSets() throws IOException {
        importKindness();
    }

    /** The kindness prompt sets, and a worker's model registered (jobs check sites against it). */
    static void importKindness() throws IOException {
        for (String side : new String[] {"source", "target"}) {
            given().body(read("kindness." + side + ".jsonl")).contentType("text/plain")
                    .when().post("/v1/prompt-sets/kindness-" + side)
                    .then().statusCode(anyOf(equalTo(201), equalTo(200))).body("size", equalTo(56));
        }
        // the shipped eliciting prompts: held out from the training sets, the gate's set
        given().body(read("kindness.elicit.jsonl")).contentType("text/plain").when().post("/v1/prompt-sets/kindness-elicit")
                .then().statusCode(anyOf(equalTo(201), equalTo(200))).body("size", equalTo(44));
        // jobs check sites against the model a worker registered at start
        await().atMost(WAIT).until(() -> given().get("/v1/interventions").statusCode() == 200);
    }

    static Map<String, Object> body(String method) {
        Map<String, Object> body = new HashMap<>();
        body.put("method", method);
        body.put("source", "kindness-source");
        body.put("target", "kindness-target");
        body.put("sites", "resid");
        body.put("kind", "toxicity");
        body.put("description", "test: kinder stories");
        return body;
    }

    static String queue(String name, Map<String, Object> body) {
        return given().body(body).contentType("application/json").when().post("/v1/interventions/" + name + "/train")
                .then().statusCode(202).body("status", equalTo("QUEUED")).body("intervention", equalTo(name))
                .extract().path("id");
    }

    static JsonPath awaitFinished(String id) {
        return awaitFinished(id, WAIT);
    }

    static JsonPath awaitFinished(String id, Duration wait) {
        JsonPath job = awaitDone(id, wait);
        assertEquals("SUCCEEDED", job.getString("status"), () -> "job error: " + job.getString("error"));
        return job;
    }

    static JsonPath awaitDone(String id) {
        return awaitDone(id, WAIT);
    }

    static JsonPath awaitDone(String id, Duration wait) {
        JsonPath[] job = new JsonPath[1];
        await().atMost(wait).pollInterval(Duration.ofMillis(200)).until(() -> {
            job[0] = given().get("/v1/retraining-jobs/" + id).then().statusCode(200).extract().jsonPath();
            String status = job[0].getString("status");
            return status.equals("SUCCEEDED") || status.equals("FAILED");
        });
        return job[0];
    }

    @Test
    void aMeanShiftJobStoresACandidateVersionOfANewIntervention() {
        String name = name();
        String id = queue(name, body("mean-shift"));
        JsonPath job = awaitFinished(id);
        assertEquals(1, job.getInt("resultVersion"));
        assertEquals(1, job.getInt("attempts"));
        assertEquals("mean", job.getString("hyperparameters.pooling"));
        assertTrue(job.getDouble("metrics.w1After") < job.getDouble("metrics.w1Before"), job.prettify());
        given().get("/v1/interventions/" + name).then().statusCode(200).body("kind", equalTo("toxicity"))
                .body("activeVersion", equalTo(null))
                .body("versions[0].status", equalTo("candidate")).body("versions[0].method", equalTo("MEAN_SHIFT"))
                .body("versions[0].createdBy", equalTo("retraining-job:" + id))
                .body("versions[0].sites", hasItem("layers.4.resid"))
                // provenance: the map's training-data hashes are the stored prompt sets' own
                .body("versions[0].trainingDataSha256.source", equalTo(given().get("/v1/prompt-sets/kindness-source").path("sha256")))
                .body("versions[0].trainingDataSha256.target", equalTo(given().get("/v1/prompt-sets/kindness-target").path("sha256")));
        given().queryParam("intervention", name).get("/v1/retraining-jobs").then().statusCode(200)
                .body("id", equalTo(java.util.List.of(id)));
        given().get("/v1/retraining-jobs").then().statusCode(200).body("id", hasItem(id));
    }

    @Test
    void aLineasJobReportsLoss() {
        String name = name();
        Map<String, Object> body = body("lineas");
        body.put("steps", 10);
        body.put("sites", "layers.0-1.resid");
        body.put("heldOut", 0.25);
        body.put("patience", 10);
        String id = queue(name, body);
        JsonPath job = awaitFinished(id);
        assertTrue(job.getDouble("metrics.finalLoss") < job.getDouble("metrics.initialLoss"), job.prettify());
        assertEquals(0, job.getInt("metrics.skippedSteps"));
        assertEquals(10, job.getInt("progress.step"));
        assertEquals(10, job.getInt("hyperparameters.steps"));
        // a quarter of each prompt set kept out of training, its W1 measured: the job's metrics say how far it got
        assertEquals(0.25, job.getDouble("hyperparameters.heldOut"));
        assertEquals(10, job.getInt("hyperparameters.patience"));
        assertEquals(32, job.getInt("hyperparameters.batchSize"), "the default, filled in");
        assertTrue(job.getInt("metrics.heldOutPrompts") > 0, job.prettify());
        assertTrue(job.getDouble("metrics.heldOutW1") > 0, job.prettify());
        // no evaluation (no default for this name, none asked for): not measured, an operator may promote it
        assertNull(job.get("evaluation"));
        assertNull(job.get("gate"));
        given().post("/v1/interventions/" + name + "/versions/1/promote").then().statusCode(200);
        given().get("/v1/interventions/" + name).then().statusCode(200).body("activeVersion", equalTo(1))
                .body("versions[0].method", equalTo("LINEAS"))
                .body("versions[0].createdBy", equalTo("retraining-job:" + id));
        // a second job trains version 2 of the now existing intervention: no kind needed
        body.remove("kind");
        body.put("method", "linear-act");
        assertEquals(2, awaitFinished(queue(name, body)).getInt("resultVersion"));
        given().get("/v1/interventions/" + name).then().body("activeVersion", equalTo(1));
    }

    @Test
    void aRedeliveredOrUnreadableRecordNeitherTrainsTwiceNorStopsTheTrainer() {
        String name = name();
        String first = queue(name, body("mean-shift"));
        awaitFinished(first);
        try (TopicClient kafka = new TopicClient(bootstrapServers)) {
            // same key, so same partition: both are consumed before the next job's outbox record
            kafka.sendJson("steer.retraining", name, Map.of("jobId", first));
            kafka.send("steer.retraining", name, "not json".getBytes(StandardCharsets.UTF_8));
        }
        Map<String, Object> body = body("mean-shift");
        body.remove("kind");
        assertEquals(2, awaitFinished(queue(name, body)).getInt("resultVersion"));
        given().get("/v1/retraining-jobs/" + first).then().body("attempts", equalTo(1)).body("resultVersion", equalTo(1));
        given().get("/v1/interventions/" + name).then().body("versions.size()", equalTo(2));
    }

    @Test
    void unreadableAndForgedRecordsGoToTheRetrainingDeadLetterTopicWithTheReason() {
        String name = name();
        Map<String, String[]> forged = new LinkedHashMap<>(); // key -> value, expected code, expected message part
        forged.put(name + "-not-json", new String[] {"not json", "NOT_JSON", "not JSON"});
        forged.put(name + "-array", new String[] {"[1]", "NOT_AN_OBJECT", "not a JSON object"});
        forged.put(name + "-no-id", new String[] {"{\"jobId\":null}", "INVALID_ID", "jobId: must be a string"});
        forged.put(name + "-bad-id", new String[] {"{\"jobId\":\"job-\\u0000-5\"}", "INVALID_ID", "jobId: not a UUID: 'job-\\u0000-5'"});
        try (TopicClient kafka = new TopicClient(bootstrapServers)) {
            forged.forEach((key, c) -> kafka.send("steer.retraining", key, c[0].getBytes(StandardCharsets.UTF_8)));
            for (Map.Entry<String, String[]> c : forged.entrySet()) {
                TopicClient.Received dead = kafka.awaitRecord("steer.retraining.dlq", c.getKey(), WAIT);
                assertEquals(c.getValue()[0], dead.text(), "the record is kept as it came");
                assertEquals(c.getValue()[1], dead.header("steergate-error-code"), c.getKey());
                assertTrue(dead.header("steergate-error-message").contains(c.getValue()[2]), dead.header("steergate-error-message"));
            }
        }
        // the trainer went on
        assertEquals(1, awaitFinished(queue(name, body("mean-shift"))).getInt("resultVersion"));
    }

    @Test
    void aRunningJobWhoseTrainerWentSilentIsRestartedOnRedelivery() {
        String name = name();
        // as a trainer that crashed mid-training leaves it: RUNNING, heartbeat long past stale-after, record unacked;
        // 2 h and 30 s, so that it reads "120 min" whether the claim's clock was read just before the insert or after
        UUID id = insertJob(name, "RUNNING", 1, Instant.now().minusSeconds(7230));
        try (TopicClient kafka = new TopicClient(bootstrapServers)) {
            kafka.sendJson("steer.retraining", name, Map.of("jobId", id.toString()));
        }
        // the redelivery or the recovery sweep, whichever comes first, restarts it; the other finds it running
        JsonPath job = awaitFinished(id.toString());
        assertEquals(2, job.getInt("attempts"));
        assertEquals("trainer died (heartbeat 120 min old)", job.getString("lastError"));
        given().get("/v1/interventions/" + name).then().body("versions.size()", equalTo(1))
                .body("versions[0].createdBy", equalTo("retraining-job:" + id));
    }

    /**
     * Stores a mean-shift job of a new intervention {@code name} directly, with no record on steer.retraining: as a
     * lost record or a crashed trainer leaves one. {@code since} is when it was queued and, when RUNNING, its last
     * heartbeat.
     */
    static UUID insertJob(String name, String status, int attempts, Instant since) {
        UUID id = UUID.randomUUID();
        QuarkusTransaction.requiringNew().run(() -> {
            RetrainingJob job = new RetrainingJob();
            job.id = id;
            job.intervention = name;
            job.kind = "toxicity";
            job.method = "mean-shift";
            job.sourceSet = "kindness-source";
            job.targetSet = "kindness-target";
            job.sites = "layers.2.resid";
            job.hyperparametersJson = "{\"steps\":300,\"learningRate\":0.01,\"l1\":0,\"groupLasso\":0,\"seed\":0}";
            job.status = status;
            job.attempts = attempts;
            job.requestedBy = "test";
            job.createdAt = since;
            job.queuedAt = since;
            if (status.equals("RUNNING")) {
                job.startedAt = since;
                job.heartbeatAt = since;
            }
            job.persist();
        });
        return id;
    }

    @Test
    void aJobTheRegistryRefusesFailsWithAOneLineError() {
        String name = name();
        String first = queue(name, body("mean-shift"));
        // queued before the first created the intervention, so its kind could not be checked yet
        String second = queue(name, with("kind", "style"));
        awaitFinished(first);
        JsonPath failed = awaitDone(second);
        assertEquals("FAILED", failed.getString("status"));
        assertTrue(failed.getString("error").contains("is of kind toxicity, not style"), failed.getString("error"));
        assertTrue(!failed.getString("error").contains("\n"), failed.getString("error"));
        given().get("/v1/interventions/" + name).then().body("versions.size()", equalTo(1));
        // and the kind is now checked at request time
        given().body(with("kind", "style")).contentType("application/json").when().post("/v1/interventions/" + name + "/train")
                .then().statusCode(409).body("message", containsString("kind:"));
    }

    @Test
    void badRequestsAreRefusedNamingTheField() {
        String name = name();
        Map<String, Map<String, Object>> cases = new java.util.LinkedHashMap<>();
        cases.put("source: no prompt set 'nope'", with("source", "nope"));
        cases.put("method: must be linear-act, mean-shift or lineas", with("method", "gradient-magic"));
        cases.put("sites: bad site 'residual'", with("sites", "residual"));
        cases.put("sites: bad site 'layers.9.resid'", with("sites", "layers.9.resid"));
        cases.put("steps: must be in [1,", with("steps", 0));
        cases.put("learningRate: must be in (0, 1]", with("learningRate", 5));
        cases.put("batchSize: must be in [4, 1024], got 3", with("batchSize", 3));
        cases.put("batchSize: must be in [4, 1024], got 1025", with("batchSize", 1025));
        cases.put("body: field batchSize has the wrong type", with("batchSize", "all"));
        cases.put("field batchSize has the wrong type", with("batchSize", 99_999_999_999L)); // past int
        cases.put("kind: required", with("kind", null));
        cases.put("target: required", with("target", null));
        cases.put("promote: needs an evaluation", with("promote", true));
        cases.put("evaluation.prompts: 'kindness-source' is a training set of this job",
                with("evaluation", evaluation("kindness-source", "meanness")));
        cases.put("evaluation.prompts: no prompt set 'nope'", with("evaluation", evaluation("nope", "meanness")));
        cases.put("evaluation.concept: no lexicon 'nope'", with("evaluation", evaluation("kindness-elicit", "nope")));
        cases.put("evaluation.concept: a lexicon name is 1-64 characters",
                with("evaluation", evaluation("kindness-elicit", "../secrets")));
        cases.put("evaluation.strength: must be in (0, 4.0]",
                with("evaluation", Map.of("prompts", "kindness-elicit", "concept", "meanness", "strength", 0)));
        for (Map.Entry<String, Map<String, Object>> c : cases.entrySet()) {
            given().body(c.getValue()).contentType("application/json").when().post("/v1/interventions/" + name + "/train")
                    .then().statusCode(anyOf(equalTo(400), equalTo(404))).body("message", containsString(c.getKey()));
        }
        given().body(body("mean-shift")).contentType("application/json").when().post("/v1/interventions/Bad_Name/train")
                .then().statusCode(400).body("message", containsString("name:"));
        given().get("/v1/interventions/" + name).then().statusCode(404);
        given().queryParam("intervention", name).get("/v1/retraining-jobs").then().statusCode(200).body("size()", equalTo(0));
        given().get("/v1/retraining-jobs/" + UUID.randomUUID()).then().statusCode(404).body("code", equalTo("NOT_FOUND"));
        given().get("/v1/retraining-jobs/not-a-uuid").then().statusCode(404).body("code", equalTo("NOT_FOUND"));
    }

    @Test
    void aNulInATextFieldOrParameterIsRefusedNamingItAndStoresNothing() {
        // PostgreSQL refuses U+0000 in text: before, each of these reached it and was answered 500 with a stack trace
        String name = name();
        Map<String, Map<String, Object>> cases = new LinkedHashMap<>();
        cases.put("description", with("description", "a\u0000b"));
        cases.put("source", with("source", "kindness\u0000source"));
        cases.put("target", with("target", "kindness\u0000target"));
        cases.put("evaluation.prompts", with("evaluation", evaluation("kindness\u0000elicit", "meanness")));
        for (Map.Entry<String, Map<String, Object>> c : cases.entrySet()) {
            given().body(c.getValue()).contentType("application/json").when().post("/v1/interventions/" + name + "/train")
                    .then().statusCode(400).body("code", equalTo("INVALID_REQUEST"))
                    .body("message", equalTo(c.getKey() + ": must not contain U+0000"));
        }
        given().get("/v1/interventions/" + name).then().statusCode(404);
        given().queryParam("intervention", name).get("/v1/retraining-jobs").then().statusCode(200).body("size()", equalTo(0));

        given().get("/v1/prompt-sets/{name}", "kindness\u0000source").then().statusCode(400)
                .body("message", equalTo("path: must not contain U+0000"));
        given().queryParam("intervention", "a\u0000b").get("/v1/retraining-jobs").then().statusCode(400)
                .body("message", equalTo("intervention: must not contain U+0000"));
        for (String parameter : new String[] {"policy", "intervention"}) {
            given().queryParam(parameter, "a\u0000b").get("/v1/retraining-triggers").then().statusCode(400)
                    .body("message", equalTo(parameter + ": must not contain U+0000"));
        }
        given().queryParam("kind", "toxicity").queryParam("description", "a\u0000b").body(new byte[0])
                .contentType("application/octet-stream").when().post("/v1/interventions/" + name + "/versions").then()
                .statusCode(400).body("message", equalTo("description: must not contain U+0000"));
        given().get("/v1/interventions/" + name).then().statusCode(404);
    }

    @Test
    void theJobListIsNewestFirstUpToTheLimitAndABadLimitIsRefusedNamingIt() {
        String name = name();
        Instant first = Instant.now().minus(Duration.ofHours(1));
        String oldest = insertJob(name, "FAILED", 1, first).toString();
        String middle = insertJob(name, "FAILED", 1, first.plusSeconds(1)).toString();
        String newest = insertJob(name, "FAILED", 1, first.plusSeconds(2)).toString();
        List<String> newestFirst = List.of(newest, middle, oldest);
        given().queryParam("intervention", name).queryParam("limit", "2").get("/v1/retraining-jobs").then().statusCode(200)
                .body("id", equalTo(newestFirst.subList(0, 2)));
        given().queryParam("intervention", name).get("/v1/retraining-jobs").then().statusCode(200)
                .body("id", equalTo(newestFirst));
        for (String bad : new String[] {"0", "x", "501"}) {
            given().queryParam("limit", bad).get("/v1/retraining-jobs").then().statusCode(400)
                    .body("code", equalTo("INVALID_REQUEST"))
                    .body("message", equalTo("limit: must be a whole number from 1 to 500"));
        }
    }

    static Map<String, Object> evaluation(String prompts, String concept) {
        return Map.of("prompts", prompts, "concept", concept, "desired", "kindness", "strength", 2.0);
    }

    /** The kindness job the gate measures: mean shift at resid, on the eliciting prompts at strength 2. */
    static Map<String, Object> gated(String source, String target) {
        Map<String, Object> body = body("mean-shift");
        body.put("source", source);
        body.put("target", target);
        body.put("evaluation", evaluation("kindness-elicit", "meanness"));
        body.put("promote", true);
        return body;
    }

    @Test
    void theGatePassesACandidateFittedOnTheShippedSetsAndPromotesItAsAsked() {
        String name = name();
        JsonPath job = awaitFinished(queue(name, gated("kindness-source", "kindness-target")), GATE_WAIT);
        assertEquals("PASSED", job.getString("gate"), job.prettify());
        assertEquals("unsteered", job.getString("gateReport.baseline.against"));
        assertTrue(job.getDouble("gateReport.conceptDifference.high") < 0, job.prettify());
        assertTrue(job.getDouble("gateReport.candidate.concept.rate") < job.getDouble("gateReport.baseline.concept.rate"));
        assertTrue(job.getDouble("gateReport.perplexityRatio") <= 1.10);
        assertEquals(400, job.getInt("gateReport.candidate.concept.total"));
        assertEquals(given().get("/v1/prompt-sets/kindness-elicit").path("sha256"), job.getString("gateReport.heldOut.sha256"));
        assertTrue(job.getString("gateReport.promotion").startsWith("promoted"), job.getString("gateReport.promotion"));
        assertEquals("kindness-elicit", job.getString("evaluation.prompts"));
        given().get("/v1/interventions/" + name).then().body("activeVersion", equalTo(1))
                .body("versions[0].gate", equalTo("PASSED"));
        System.out.println("gate on the shipped kindness sets: " + job.prettify());
    }

    @Test
    void theGateRefusesACandidateFittedOnSwappedSetsWhichStaysUnpromotedUnlessOverridden() {
        String name = name();
        // source and target swapped: the map steers towards meanness
        JsonPath bad = awaitFinished(queue(name, gated("kindness-target", "kindness-source")), GATE_WAIT);
        assertEquals("REFUSED", bad.getString("gate"), bad.prettify());
        assertTrue(bad.getDouble("gateReport.conceptDifference.estimate") > 0, bad.prettify());
        assertTrue(bad.getString("gateReport.reasons[0]").startsWith("concept rate not lower beyond noise"));
        assertTrue(bad.getString("gateReport.promotion").startsWith("stays candidate"));
        given().get("/v1/interventions/" + name).then().body("activeVersion", equalTo(null))
                .body("versions[0].status", equalTo("candidate")).body("versions[0].gate", equalTo("REFUSED"));
        System.out.println("gate on the swapped kindness sets: " + bad.prettify());

        given().post("/v1/interventions/" + name + "/versions/1/promote").then().statusCode(409)
                .body("code", equalTo("CONFLICT")).body("message", containsString("the evaluation gate REFUSED it"));
        given().get("/v1/interventions/" + name).then().body("activeVersion", equalTo(null));
        // an operator may override; who did is recorded on the version
        given().queryParam("overrideGate", true).post("/v1/interventions/" + name + "/versions/1/promote").then()
                .statusCode(200).body("status", equalTo("active")).body("gateOverrideBy", startsWith("key:"))
                .body("gateOverrideAt", notNullValue());

        // a retraining on the right sets is measured against that active version, passes, and replaces it
        Map<String, Object> fix = gated("kindness-source", "kindness-target");
        fix.remove("kind");
        JsonPath good = awaitFinished(queue(name, fix), GATE_WAIT);
        assertEquals("PASSED", good.getString("gate"), good.prettify());
        assertEquals(1, good.getInt("gateReport.baseline.version"));
        assertEquals("active version 1", good.getString("gateReport.baseline.against"));
        given().get("/v1/interventions/" + name).then().body("activeVersion", equalTo(2));
        System.out.println("gate on the shipped sets against the swapped active version: " + good.prettify());
    }

    @Test
    void aJobFitsAtTheLastTokenWithTokenGatesWhenAskedAndAnUnknownPoolingIsRefusedByName() {
        String name = name();
        Map<String, Object> body = body("mean-shift");
        body.put("sites", "layers.2.resid");
        body.put("pooling", "last");
        body.put("tokenGates", true);
        JsonPath job = awaitFinished(queue(name, body));
        assertEquals("last", job.getString("hyperparameters.pooling"));
        assertTrue(job.getBoolean("hyperparameters.tokenGates"));
        assertTrue(job.getDouble("metrics.w1Before") > 0, job.prettify());
        // the gate's accuracy, train and held out, for its one site
        assertEquals(2, job.getList("metrics.gateAccuracy.'layers.2.resid'").size(), job.prettify());

        String refused = name();
        body.put("pooling", "first");
        given().body(body).contentType("application/json").when().post("/v1/interventions/" + refused + "/train")
                .then().statusCode(400).body("code", equalTo("INVALID_REQUEST"))
                .body("message", equalTo("pooling: must be mean or last, got 'first'"));
        given().queryParam("intervention", refused).get("/v1/retraining-jobs").then().statusCode(200)
                .body("size()", equalTo(0));
    }

    @Test
    void aHeldOutSplitOrATokenGateLeavingTooFewPromptsIsRefusedAtRequestTime() {
        String source = name();
        String target = name();
        given().body(IntStream.range(0, 6).mapToObj(i -> "{\"text\": \"Tom was mean to his sister, day " + i + ".\"}")
                .collect(Collectors.joining("\n"))).when().post("/v1/prompt-sets/" + source).then().statusCode(201);
        given().body("{\"text\": \"Tom was kind to his sister.\"}\n").when().post("/v1/prompt-sets/" + target)
                .then().statusCode(201);
        String name = name();
        Map<String, Object> body = body("lineas");
        body.put("source", source);
        body.put("target", "kindness-target");
        body.put("heldOut", 0.5);
        given().body(body).contentType("application/json").when().post("/v1/interventions/" + name + "/train")
                .then().statusCode(400).body("code", equalTo("INVALID_REQUEST")).body("message", equalTo("heldOut: 0.5 holds out 3"
                        + " of the 6 source prompts of '" + source + "', leaving 3 to train on; lineas needs at least 4"));
        body.put("target", target);
        body.put("heldOut", 0.2);
        given().body(body).contentType("application/json").when().post("/v1/interventions/" + name + "/train")
                .then().statusCode(400).body("message", equalTo("heldOut: 0.2 holds out 1 of the 1 target prompts of '"
                        + target + "', leaving 0 to train on; lineas needs at least 1"));
        // a gate needs two prompts of each side: refused before anything is trained
        body.remove("heldOut");
        body.put("tokenGates", true);
        given().body(body).contentType("application/json").when().post("/v1/interventions/" + name + "/train")
                .then().statusCode(400).body("message", equalTo("tokenGates: a gate is fitted from at least 2 source and"
                        + " 2 target prompts; '" + source + "' has 6, '" + target + "' 1"));
        given().queryParam("intervention", name).get("/v1/retraining-jobs").then().statusCode(200).body("size()", equalTo(0));
    }

    @Test
    void aHeldOutSetSharingATextWithTheTrainingSetsIsRefused() throws IOException {
        String set = name();
        String shared = read("kindness.source.jsonl").lines().findFirst().orElseThrow();
        given().body("{\"text\": \"Tom went to the park and\"}\n" + shared + "\n").when().post("/v1/prompt-sets/" + set)
                .then().statusCode(201);
        given().body(with("evaluation", evaluation(set, "meanness"))).contentType("application/json")
                .when().post("/v1/interventions/" + name() + "/train").then().statusCode(400)
                .body("message", containsString("evaluation.prompts: held-out set '" + set + "' shares 1 of its 2 prompts"
                        + " with the training sets 'kindness-source' and 'kindness-target'"));
    }

    @Test
    void theShippedInterventionsHaveADefaultEvaluationOnTheirElicitingPrompts() {
        EvaluationRequest kindness = gateSpecs.resolve("kindness", null, "kindness-source", "kindness-target").orElseThrow();
        assertEquals(new EvaluationRequest("kindness-elicit", "meanness", "kindness", 2.0), kindness);
        given().get("/v1/prompt-sets/kindness-elicit").then().statusCode(200).body("size", equalTo(44));
        // a request's own evaluation wins; an intervention without a default is not evaluated
        assertEquals(1.0, gateSpecs.resolve("kindness", new EvaluationRequest("kindness-elicit", "meanness", null, null),
                "kindness-source", "kindness-target").orElseThrow().strength());
        assertTrue(gateSpecs.resolve(name(), null, "kindness-source", "kindness-target").isEmpty());
    }

    /**
     * A default held-out file edited after its set was first stored (an upgrade, a fix): the gate stores the new texts
     * under a name of their own and evaluates on them. Before, every later training of the intervention without an
     * evaluation of its own answered 409 "already holds other texts", and every trigger on it failed.
     */
    @Test
    void aDefaultHeldOutFileThatChangedSinceItWasStoredIsStoredAnewUnderANameOfItsOwn() throws IOException {
        // no-dogs-elicit as an earlier release's file held it (no other test stores that name)
        given().body("{\"text\": \"An older line about a dog.\"}\n").when().post("/v1/prompt-sets/no-dogs-elicit")
                .then().statusCode(anyOf(equalTo(201), equalTo(200)));
        EvaluationRequest noDogs = gateSpecs.resolve("no-dogs", null, "kindness-source", "kindness-target").orElseThrow();
        PromptSet file = PromptSet.read(Path.of("policies/prompts/no-dogs.elicit.jsonl"));
        assertEquals("no-dogs-elicit-" + file.sha256().substring(0, 8), noDogs.prompts());
        assertEquals(file.texts(), given().get("/v1/prompt-sets/" + noDogs.prompts()).then().statusCode(200).extract()
                .jsonPath().getList("texts"));
        assertEquals(noDogs, gateSpecs.resolve("no-dogs", null, "kindness-source", "kindness-target").orElseThrow(),
                "the same name the next time");
    }

    static Map<String, Object> with(String field, Object value) {
        Map<String, Object> body = body("mean-shift");
        body.put(field, value);
        return body;
    }

    @Test
    void aPromptSetNameIsImmutable() throws IOException {
        String set = name();
        String jsonl = "{\"text\": \"Tom was kind.\"}\n{\"text\": \"Lily shared her toys.\"}\n";
        given().body(jsonl).when().post("/v1/prompt-sets/" + set).then().statusCode(201).body("size", equalTo(2))
                .body("sha256", notNullValue());
        given().body(jsonl).when().post("/v1/prompt-sets/" + set).then().statusCode(200).body("size", equalTo(2));
        given().body(jsonl + "{\"text\": \"Max hugged his dog.\"}\n").when().post("/v1/prompt-sets/" + set)
                .then().statusCode(409).body("code", equalTo("CONFLICT")).body("message", containsString(set));
        given().get("/v1/prompt-sets/" + set).then().statusCode(200).body("texts", equalTo(java.util.List.of("Tom was kind.", "Lily shared her toys.")));
        given().get("/v1/prompt-sets").then().statusCode(200).body("name", hasItem("kindness-source"))
                .body("texts", everyItem(equalTo(null)));
        given().get("/v1/prompt-sets/" + name()).then().statusCode(404).body("code", equalTo("NOT_FOUND"));
    }

    @Test
    void promptSetsAreCappedInSizeAndTextLength() {
        String tooLong = "{\"text\": \"" + "a".repeat(4_001) + "\"}\n";
        given().body("{\"text\": \"fine\"}\n" + tooLong).when().post("/v1/prompt-sets/" + name())
                .then().statusCode(400).body("code", equalTo("INVALID_REQUEST"))
                .body("message", equalTo("body: prompt 2 is 4001 characters; at most 4000"));
        String tooMany = "{\"text\": \"a\"}\n".repeat(10_001);
        given().body(tooMany).when().post("/v1/prompt-sets/" + name())
                .then().statusCode(400).body("message", equalTo("body: at most 10000 prompts, got 10001"));
    }

    @Test
    void jsonlErrorsNameTheLine() {
        String set = name();
        given().body("{\"text\": \"fine\"}\n\n{\"text\": \"broken\"\n").when().post("/v1/prompt-sets/" + set)
                .then().statusCode(400).body("code", equalTo("INVALID_REQUEST")).body("message", containsString("body line 3"));
        given().body("{\"text\": \"fine\"}\n{\"note\": \"no text\"}\n").when().post("/v1/prompt-sets/" + set)
                .then().statusCode(400).body("message", containsString("body line 2: missing field \"text\""));
        given().body("").when().post("/v1/prompt-sets/" + set).then().statusCode(400).body("message", containsString("no prompts"));
        given().get("/v1/prompt-sets/" + set).then().statusCode(404);
    }
}
