package io.steergate.retraining;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.steergate.engine.eval.PromptSet;
import io.steergate.engine.steering.Intervention;
import io.steergate.engine.steering.InterventionFile;
import io.steergate.intervention.InterventionRegistry;
import io.steergate.intervention.InterventionVersion;
import io.steergate.policy.InterventionCatalog;
import io.steergate.policy.Policy;
import io.steergate.policy.PolicyParser;
import io.steergate.retraining.RetrainingTriggers.Outcome;
import io.steergate.resilience.Failures;
import io.steergate.security.ApiKeys;
import io.steergate.testing.SteerGateTestProfile;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Policy-triggered retraining end to end on the real broker, database and model: generations steered by a fresh
 * intervention (explicitly, under the shipped storytelling policy of tenant story-app-beta), review verdicts posted
 * over HTTP, a trigger of a policy parsed here (the shipped policies directory stays as it is; the sweep is called
 * directly, the scheduled one follows the firing), the job it queues, its promotion, the watch and the rollback.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class RetrainingTriggerQuarkusTest {

    static final Duration WAIT = Duration.ofSeconds(90);
    static final String TENANT = "story-app-beta";

    @Inject
    RetrainingTriggers triggers;

    @Inject
    InterventionRegistry registry;

    @Inject
    InterventionCatalog catalog;

    @Inject
    ApiKeys keys;

    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String jdbcUrl;

    @ConfigProperty(name = "quarkus.datasource.username")
    String dbUser;

    @ConfigProperty(name = "quarkus.datasource.password")
    String dbPassword;

    String reviewer;

    @BeforeEach
    void setUp() throws IOException {
        RetrainingQuarkusTest.importKindness();
        reviewer = "Bearer " + keys.issue(List.of(TENANT), List.of("reviewer"), "trigger test reviewer", null, "test").key();
    }

    @Test
    void verdictsFireATriggerWhoseJobIsPromotedAndUsedAndTheCoolDownHoldsOffASecondFiring() {
        String intervention = newIntervention();
        Policy policy = policy(intervention, 0.5);
        String id = policy.id();
        List<Generated> outputs = generate(intervention, 1, 3);

        review(outputs.get(0), "violation");
        review(outputs.get(1), "ok");
        assertEquals(Map.of(id + "/reviews", Outcome.BELOW_MINIMUM, id + "/needs-many", Outcome.BELOW_MINIMUM,
                id + "/sadness", Outcome.BELOW_THRESHOLD), triggers.sweep(List.of(policy)), "2 reviews of the 3 needed");
        review(outputs.get(2), "ok");
        assertEquals(Outcome.BELOW_THRESHOLD, triggers.sweep(List.of(policy)).get(id + "/reviews"), "1 of 3 is under 0.5");
        review(outputs.get(1), "violation"); // the latest verdict of a record counts
        // two gateway replicas sweeping at once: the trigger's state row lock lets one fire, the other finds it cooling
        List<Map<String, Outcome>> sweeps = twoSweepsAtOnce(policy);
        assertEquals(List.of(Outcome.FIRED, Outcome.COOLING_DOWN), sweeps.stream().map(o -> o.get(id + "/reviews")).sorted().toList());
        sweeps.forEach(o -> assertEquals(Outcome.BELOW_MINIMUM, o.get(id + "/needs-many")));
        // the scorer measure counts the 3 scored outputs (so not below its minimum); none scores above 1
        sweeps.forEach(o -> assertEquals(Outcome.BELOW_THRESHOLD, o.get(id + "/sadness")));
        assertEquals(Outcome.COOLING_DOWN, triggers.sweep(List.of(policy)).get(id + "/reviews"));

        JsonPath firing = onlyFiring(id);
        assertEquals("reviews", firing.getString("trigger"));
        assertEquals(intervention, firing.getString("intervention"));
        assertEquals(3, firing.getInt("evidence.counted"));
        assertEquals(2, firing.getInt("evidence.violating"));
        assertEquals(2.0 / 3, firing.getDouble("evidence.rate"), 1e-6);
        assertEquals("PT24H", firing.getString("evidence.window"));
        assertEquals(List.of(outputs.get(1).auditId, outputs.get(0).auditId), firing.getList("evidence.violatingRecordIds", Long.class));
        assertEquals(1, firing.getInt("previousVersion"));
        assertEquals(List.of("fired", "queued"), firing.getList("steps.step").subList(0, 2));
        assertEquals("kindness-target", firing.getString("targetSet"));
        assertEquals("kindness-source", firing.getString("steps[1].detail.baseSource"));

        // the source set: the base set plus the violating outputs
        JsonPath source = given().get("/v1/prompt-sets/" + firing.getString("sourceSet")).then().statusCode(200).extract().jsonPath();
        List<String> texts = source.getList("texts");
        assertEquals(56 + firing.getInt("steps[1].detail.violatingOutputsAdded"), texts.size());
        assertTrue(texts.contains(outputs.get(0).text) && texts.contains(outputs.get(1).text), "violating outputs added");
        assertTrue(!texts.contains(outputs.get(2).text) || outputs.get(2).text.equals(outputs.get(0).text)
                || outputs.get(2).text.equals(outputs.get(1).text), "the ok output is not added");

        JsonPath job = RetrainingQuarkusTest.awaitFinished(firing.getString("jobId"));
        assertEquals("trigger:" + id + "/reviews", job.getString("requestedBy"));
        assertEquals("mean-shift", job.getString("method"));
        assertEquals(2, job.getInt("resultVersion"));

        // 'promote: approval': the version waits as a candidate until an operator promotes it (an intervention without a
        // gate default is not evaluated, so no gate verdict stands in the way); the scheduled sweep then starts the watch
        JsonPath awaiting = awaitStatus(id, "AWAITING_PROMOTION");
        assertEquals(List.of("fired", "queued", "trained"), awaiting.getList("steps.step"));
        assertEquals(1, given().get("/v1/interventions/" + intervention).jsonPath().getInt("activeVersion"));
        approve(intervention, 2);
        JsonPath watching = awaitStatus(id, "WATCHING");
        assertEquals(List.of("fired", "queued", "trained", "watch-started"), watching.getList("steps.step"));

        // later requests use the new version; reviewed ok, the watch passes at its window's end and the version stays
        List<Generated> after = generate(intervention, 2, 2);
        review(after.get(0), "ok");
        review(after.get(1), "ok");
        JsonPath passed = endOfWatch(watching);
        assertEquals("PASSED", passed.getString("status"));
        assertEquals("watch-passed", passed.getString("steps[4].step"));
        assertEquals(2, passed.getInt("steps[4].detail.counted"));
        assertEquals(0.0, passed.getDouble("steps[4].detail.rate"));
        // compared with version 1 over the trigger's day before the promotion: 2 of its 3 reviewed outputs violating
        assertEquals(2.0 / 3, passed.getDouble("steps[4].detail.previousRate"), 1e-6);
        assertEquals(3, passed.getInt("steps[4].detail.previousCounted"));
        assertTrue(passed.getString("steps[4].detail.baseline").startsWith("version 1's rate (2 of 3) over the trigger's window"),
                passed.getString("steps[4].detail.baseline"));
        assertEquals(2, given().get("/v1/interventions/" + intervention).jsonPath().getInt("activeVersion"));
        assertEquals(Outcome.COOLING_DOWN, triggers.sweep(List.of(policy)).get(id + "/reviews"), "still one firing a day");
        assertEquals(1, given().queryParam("policy", id).get("/v1/retraining-triggers").jsonPath().getList("id").size());

        // a reviewer sees the firings of its own tenants only
        assertEquals(List.of(passed.getString("id")), given().header("Authorization", reviewer).queryParam("policy", id)
                .get("/v1/retraining-triggers").then().statusCode(200).extract().jsonPath().getList("id"));
        String other = "Bearer " + keys.issue(List.of("acme"), List.of("reviewer"), "other tenant", null, "test").key();
        assertEquals(List.of(), given().header("Authorization", other).queryParam("policy", id)
                .get("/v1/retraining-triggers").then().statusCode(200).extract().jsonPath().getList("id"));
        given().header("Authorization", other).get("/v1/retraining-triggers/" + passed.getString("id")).then().statusCode(404);
    }

    @Test
    void aNewVersionWorseThanTheRateThatFiredTheTriggerIsRolledBack() {
        String intervention = newIntervention();
        String id = firedAndWatching(intervention);

        JsonPath rolledBack = worseAtTheEndOfWatch(intervention, id);
        assertEquals("ROLLED_BACK", rolledBack.getString("status"));
        assertEquals(1, given().get("/v1/interventions/" + intervention).jsonPath().getInt("activeVersion"));
        assertEquals("rolled-back", rolledBack.getString("steps[4].step"));
        assertEquals(1.0, rolledBack.getDouble("steps[4].detail.rate"));
        assertEquals(1.0 / 3, rolledBack.getDouble("steps[4].detail.previousRate"), 1e-6);
        assertEquals(2, rolledBack.getInt("steps[4].detail.counted"));
        assertEquals(1, rolledBack.getInt("steps[4].detail.restoredVersion"));
        String reason = rolledBack.getString("steps[4].detail.reason");
        assertTrue(reason.contains("is worse than 0.3333, version 1's rate (1 of 3) over the trigger's window"), reason);
        // requests use the restored version again
        assertEquals(1, generate(intervention, 1, 1).get(0).version);
    }

    /**
     * The watch finds the new version worse, but the version active before it was REFUSED by its gate (an operator
     * promoted it over the gate): the automatic loop does not promote it again; the firing ends INCONCLUSIVE saying
     * so. Before, the rollback's promote answered 409 at every sweep and the firing stayed WATCHING for good.
     */
    @Test
    void aWorseVersionWhosePredecessorWasRefusedByItsGateIsNotRolledBackAndTheWatchEnds() {
        String intervention = newIntervention();
        String id = firedAndWatching(intervention);
        registry.recordGate(intervention, 1, InterventionVersion.GATE_REFUSED);

        JsonPath ended = worseAtTheEndOfWatch(intervention, id);
        assertEquals("INCONCLUSIVE", ended.getString("status"));
        assertEquals("rollback-impossible", ended.getString("steps[4].step"));
        assertTrue(ended.getString("steps[4].detail.reason").contains("version 1 was refused by its evaluation gate"),
                ended.getString("steps[4].detail.reason"));
        assertEquals(2, given().get("/v1/interventions/" + intervention).jsonPath().getInt("activeVersion"));
    }

    /** A trigger fired by 1 violation of 3 on version 1, its candidate (version 2) approved and watched; the policy id. */
    private String firedAndWatching(String intervention) {
        Policy policy = policy(intervention, 0.3);
        String id = policy.id();
        List<Generated> outputs = generate(intervention, 1, 3);
        review(outputs.get(0), "violation");
        review(outputs.get(1), "ok");
        review(outputs.get(2), "ok");
        assertEquals(Outcome.FIRED, triggers.sweep(List.of(policy)).get(id + "/reviews"));
        RetrainingQuarkusTest.awaitFinished(onlyFiring(id).getString("jobId"));
        awaitStatus(id, "AWAITING_PROMOTION");
        approve(intervention, 2);
        awaitStatus(id, "WATCHING");
        return id;
    }

    private JsonPath worseAtTheEndOfWatch(String intervention, String id) {
        List<Generated> after = generate(intervention, 2, 2);
        review(after.get(0), "violation");
        review(after.get(1), "violation");
        return endOfWatch(onlyFiring(id));
    }

    @Test
    void withoutStoredSetsMatchingItsProvenanceAnInterventionsBaseSetsAreItsShippedPromptFiles() throws IOException {
        // no test imports the cheerful prompt files, so the shipped demo map's provenance names no stored set
        RetrainingTriggers.BaseSets base = QuarkusTransaction.requiringNew().call(() -> triggers.baseSets("cheerful"));
        assertEquals(Path.of("policies/prompts").toString(), base.from());
        assertTrue(base.source().matches("cheerful-base-[0-9a-f]{8}-source"), base.source());
        for (String side : new String[] {"source", "target"}) {
            String name = side.equals("source") ? base.source() : base.target();
            List<String> stored = given().get("/v1/prompt-sets/" + name).then().statusCode(200).extract().jsonPath().getList("texts");
            assertEquals(PromptSet.read(Path.of("policies/prompts/cheerful." + side + ".jsonl")).texts(), stored);
        }
        // a second look finds the same sets: now through the provenance when the shipped map was fitted on these files,
        // else by importing the same texts again under the same names (a no-op)
        RetrainingTriggers.BaseSets again = QuarkusTransaction.requiringNew().call(() -> triggers.baseSets("cheerful"));
        assertEquals(List.of(base.source(), base.target()), List.of(again.source(), again.target()));
    }

    @Test
    void withPromoteAutoTheFiringsCandidatePassesTheGateAndIsPromotedWithoutAnOperatorAndLaterRequestsUseIt() {
        // version 1 steers towards meanness, but its provenance names the kindness sets the right way round, so they
        // are the trigger's base sets; the gate measures the trigger's candidate against that bad active version
        String intervention = badButLabelledRight();
        Policy policy = autoPolicy(intervention);
        String id = policy.id();
        List<Generated> outputs = firedByThreeViolations(intervention, policy);

        JsonPath firing = onlyFiring(id);
        assertEquals(3, firing.getInt("evidence.counted"));
        assertEquals(3, firing.getInt("evidence.violating"));
        assertEquals(1.0, firing.getDouble("evidence.rate"));
        assertEquals(outputs.stream().map(Generated::auditId).sorted().toList(),
                firing.getList("evidence.violatingRecordIds", Long.class).stream().sorted().toList());
        assertEquals(1, firing.getInt("previousVersion"));
        assertEquals("kindness-source", firing.getString("steps[1].detail.baseSource"));
        assertEquals("provenance of version 1", firing.getString("steps[1].detail.baseFrom"));
        assertEquals("auto", firing.getString("steps[1].detail.promote"));

        JsonPath job = RetrainingQuarkusTest.awaitFinished(firing.getString("jobId"), RetrainingQuarkusTest.GATE_WAIT);
        assertEquals("trigger:" + id + "/auto", job.getString("requestedBy"));
        assertEquals("kindness-elicit", job.getString("evaluation.prompts"), "the trigger's own evaluation");
        assertEquals("PASSED", job.getString("gate"), job.prettify());
        assertEquals("active version 1", job.getString("gateReport.baseline.against"));
        assertTrue(job.getDouble("gateReport.conceptDifference.high") < 0, job.prettify());
        assertTrue(job.getString("gateReport.promotion").startsWith("promoted"), job.getString("gateReport.promotion"));
        // nobody calls promote: the job did, and the sweep found version 2 active and started the watch
        JsonPath watching = awaitStatus(id, "WATCHING");
        assertEquals(List.of("fired", "queued", "trained", "watch-started"), watching.getList("steps.step"));
        assertEquals("PASSED", watching.getString("steps[2].detail.gate"));
        assertEquals(2, watching.getInt("steps[3].detail.version"));
        assertEquals(1, watching.getInt("steps[3].detail.previousVersion"));
        given().get("/v1/interventions/" + intervention).then().body("activeVersion", equalTo(2))
                .body("versions.find { it.version == 2 }.gate", equalTo("PASSED"));

        // later requests apply version 2, in their results and in their audit records
        for (Generated later : generate(intervention, 2, 2)) {
            JsonPath audit = given().queryParam("tenant", TENANT).queryParam("intervention", intervention).get("/v1/audit")
                    .then().statusCode(200).extract().jsonPath();
            assertEquals(2, audit.getInt("items.find { it.requestId == '" + later.requestId + "' }.applied[0].version"));
        }
    }

    @Test
    void withPromoteAutoACandidateFittedOnBadBaseSetsIsRefusedByTheGateAndTheFiringEndsNotPromoted() {
        // version 1's provenance names the kindness sets swapped: the firing's candidate steers towards meanness
        String intervention = asGoodAsUnsteered("kindness-target", "kindness-source");
        Policy policy = autoPolicy(intervention);
        String id = policy.id();
        firedByThreeViolations(intervention, policy);
        JsonPath firing = onlyFiring(id);
        assertEquals("kindness-target", firing.getString("steps[1].detail.baseSource"));

        JsonPath job = RetrainingQuarkusTest.awaitFinished(firing.getString("jobId"), RetrainingQuarkusTest.GATE_WAIT);
        assertEquals("REFUSED", job.getString("gate"), job.prettify());
        assertTrue(job.getString("gateReport.reasons[0]").startsWith("concept rate not lower beyond noise"), job.prettify());
        JsonPath refused = awaitStatus(id, "NOT_PROMOTED");
        assertEquals(List.of("fired", "queued", "trained", "not-promoted"), refused.getList("steps.step"));
        assertEquals("REFUSED", refused.getString("steps[2].detail.gate"));
        assertTrue(refused.getString("steps[3].detail.reason").startsWith("the evaluation gate refused it"),
                refused.getString("steps[3].detail.reason"));
        given().get("/v1/interventions/" + intervention).then().body("activeVersion", equalTo(1))
                .body("versions.find { it.version == 2 }.status", equalTo("candidate"));
        assertEquals(1, generate(intervention, 1, 1).get(0).version, "requests keep the active version");
    }

    @Test
    void anApprovalFiringEndsWhenItsCandidateIsRetiredRefusedByTheGateOrOvertaken() {
        String intervention = newIntervention();
        generate(intervention, 1, 3).forEach(output -> review(output, "violation"));

        // three policies of their own over the same reviews: each fires once, a candidate each, waiting for approval
        Policy retired = policy(intervention, 0.5);
        int v2 = fireAndAwaitCandidate(retired);
        given().post("/v1/interventions/" + intervention + "/versions/" + v2 + "/retire").then().statusCode(200);
        JsonPath closed = awaitStatus(retired.id(), "NOT_PROMOTED");
        assertEquals(List.of("fired", "queued", "trained", "not-promoted"), closed.getList("steps.step"));
        assertEquals("retired", closed.getString("steps[3].detail.reason"));

        Policy refused = policy(intervention, 0.5);
        int v3 = fireAndAwaitCandidate(refused);
        // the gate's verdict as the trainer stores it (this intervention has no gate default, so its jobs are not gated)
        QuarkusTransaction.requiringNew().run(() -> InterventionVersion.update("gate = ?1 where name = ?2 and version = ?3",
                InterventionVersion.GATE_REFUSED, intervention, v3));
        closed = awaitStatus(refused.id(), "NOT_PROMOTED");
        assertTrue(closed.getString("steps[3].detail.reason").startsWith("the evaluation gate refused it"),
                closed.getString("steps[3].detail.reason"));

        Policy overtaken = policy(intervention, 0.5);
        int v4 = fireAndAwaitCandidate(overtaken);
        int v5 = RetrainingQuarkusTest.awaitFinished(RetrainingQuarkusTest.queue(intervention,
                RetrainingQuarkusTest.body("mean-shift"))).getInt("resultVersion");
        assertTrue(v5 > v4);
        closed = awaitStatus(overtaken.id(), "NOT_PROMOTED");
        assertEquals("overtaken by version " + v5 + ", a later candidate", closed.getString("steps[3].detail.reason"));
        assertEquals(v4, closed.getInt("steps[3].detail.version"));
        assertEquals(1, given().get("/v1/interventions/" + intervention).jsonPath().getInt("activeVersion"));
    }

    @Test
    void aScorerTriggerFiresOnScoredOutputsAndOneWhoseJobRequestIsRefusedIsRecordedFailedAndCoolsDown() {
        String intervention = newIntervention();
        List<Generated> outputs = generate(intervention, 1, 3);
        String id = "trigger-scorer-" + UUID.randomUUID().toString().substring(0, 8);
        // 'above: -1': every scored output counts as over the bound, so the rate is 1 whatever the model wrote; the
        // second trigger asks 'promote: auto' of an intervention with no evaluation, which the job request refuses
        Policy policy = parse(id, """
                id: %1$s
                tenants: [%2$s]
                retraining:
                  - name: sad
                    intervention: %3$s
                    when: {scorer: {name: sadness, above: -1, atLeast: 1, minOutputs: 3, window: 1d}}
                    coolDown: 1d
                    train: {method: mean-shift, sites: resid}
                  - name: refused
                    intervention: %3$s
                    when: {scorer: {name: sadness, above: -1, atLeast: 1, minOutputs: 3, window: 1d}}
                    coolDown: 1d
                    train: {method: mean-shift}
                    promote: auto
                scorers:
                  - {name: sadness, lexicon: lexicons/sadness.txt}
                """.formatted(id, TENANT, intervention));

        assertEquals(Map.of(id + "/sad", Outcome.FIRED, id + "/refused", Outcome.FAILED), triggers.sweep(List.of(policy)));
        JsonPath list = given().queryParam("policy", id).get("/v1/retraining-triggers").then().statusCode(200).extract().jsonPath();
        assertEquals(2, list.getList("id").size(), list.prettify());

        JsonPath sad = firing(id, "sad");
        assertEquals("QUEUED", sad.getString("status"));
        assertEquals("scorer", sad.getString("evidence.measure"));
        assertEquals("sadness", sad.getString("evidence.scorer"));
        assertEquals(3, sad.getInt("evidence.counted"));
        assertEquals(3, sad.getInt("evidence.violating"));
        assertEquals(outputs.stream().map(Generated::auditId).sorted().toList(),
                sad.getList("evidence.violatingRecordIds", Long.class).stream().sorted().toList());
        assertEquals(List.of("fired", "queued"), sad.getList("steps.step"));
        List<String> texts = given().get("/v1/prompt-sets/" + sad.getString("sourceSet")).then().statusCode(200)
                .extract().jsonPath().getList("texts");
        assertTrue(outputs.stream().allMatch(output -> texts.contains(output.text)), "the scored outputs joined the source set");
        assertEquals("trigger:" + id + "/sad", RetrainingQuarkusTest.awaitFinished(sad.getString("jobId")).getString("requestedBy"));

        JsonPath failed = firing(id, "refused");
        assertEquals("FAILED", failed.getString("status"));
        assertTrue(failed.getString("error").contains("promote: needs an evaluation"), failed.getString("error"));
        assertEquals(List.of("failed"), failed.getList("steps.step"));
        assertEquals(null, failed.getString("jobId"), "no job was queued");
        // the failure starts the cool-down: not tried again every sweep
        assertEquals(Map.of(id + "/sad", Outcome.COOLING_DOWN, id + "/refused", Outcome.COOLING_DOWN),
                triggers.sweep(List.of(policy)));
        assertEquals(2, given().queryParam("policy", id).get("/v1/retraining-triggers").jsonPath().getList("id").size());
    }

    /**
     * A LinEAS trigger with a held-out split, on an intervention whose base sets are one-prompt ones: the firing's
     * target set is that one prompt, which the split would leave with none to train on. The job request refuses it as
     * an HTTP request would be, so the firing is FAILED with that reason and no job is queued to fail at fit time.
     */
    @Test
    void aFiringWhoseHeldOutSplitWouldLeaveTooFewPromptsToTrainOnIsRecordedFailedWithoutAJob() {
        String source = RetrainingQuarkusTest.name();
        String target = RetrainingQuarkusTest.name();
        given().body(IntStream.range(0, 5).mapToObj(i -> "{\"text\": \"Tom was mean to his sister, day " + i + ".\"}\n")
                .collect(Collectors.joining())).when().post("/v1/prompt-sets/" + source).then().statusCode(201);
        // a text of its own: the base sets are found by content, and another set with the same text would be named
        given().body("{\"text\": \"Tom was kind to his sister (" + target + ").\"}\n").when().post("/v1/prompt-sets/" + target)
                .then().statusCode(201);
        String intervention = RetrainingQuarkusTest.name();
        Map<String, Object> body = RetrainingQuarkusTest.body("mean-shift");
        body.put("source", source);
        body.put("target", target);
        RetrainingQuarkusTest.awaitFinished(RetrainingQuarkusTest.queue(intervention, body));
        approve(intervention, 1);
        generate(intervention, 1, 3);
        String id = "trigger-split-" + UUID.randomUUID().toString().substring(0, 8);
        Policy policy = parse(id, """
                id: %1$s
                tenants: [%2$s]
                retraining:
                  - name: split
                    intervention: %3$s
                    when: {scorer: {name: sadness, above: -1, atLeast: 1, minOutputs: 3, window: 1d}}
                    coolDown: 1d
                    train: {method: lineas, sites: resid, hyperparameters: {heldOut: 0.1}}
                scorers:
                  - {name: sadness, lexicon: lexicons/sadness.txt}
                """.formatted(id, TENANT, intervention));

        assertEquals(Map.of(id + "/split", Outcome.FAILED), triggers.sweep(List.of(policy)));
        JsonPath failed = firing(id, "split");
        assertEquals("FAILED", failed.getString("status"));
        assertEquals("ApiError: heldOut: 0.1 holds out 1 of the 1 target prompts of '" + target + "', leaving 0 to train on;"
                + " lineas needs at least 1", failed.getString("error"));
        assertEquals(null, failed.getString("jobId"), "no job was queued");
        assertEquals(1, given().queryParam("intervention", intervention).get("/v1/retraining-jobs").jsonPath()
                .getList("id").size(), "only the job that trained version 1");
    }

    @Test
    void aReviewersLimitCountsOnlyTheFiringsItSeesWhenOthersAreInterleaved() {
        String policy = "trigger-limit-" + UUID.randomUUID().toString().substring(0, 8);
        String mine = "{\"tenants\":[\"" + TENANT + "\"]}";
        String others = "{\"tenants\":[\"acme\"]}";
        String mineAndOthers = "{\"tenants\":[\"" + TENANT + "\",\"acme\"]}";
        Instant newest = Instant.now().minus(Duration.ofHours(1));
        // newest first: seen, hidden, hidden, seen, hidden, seen, hidden
        List<String> scopes = List.of(mine, others, mineAndOthers, mine, others, mine, mineAndOthers);
        List<String> ids = IntStream.range(0, scopes.size())
                .mapToObj(i -> storedFinishedFiring(policy, scopes.get(i), newest.minusSeconds(i)).toString()).toList();
        List<String> seen = List.of(ids.get(0), ids.get(3), ids.get(5));

        for (int limit = 1; limit <= 3; limit++) {
            assertEquals(seen.subList(0, limit), given().header("Authorization", reviewer).queryParam("policy", policy)
                    .queryParam("limit", limit).get("/v1/retraining-triggers").then().statusCode(200)
                    .extract().jsonPath().getList("id"), "limit " + limit);
        }
        assertEquals(seen, given().header("Authorization", reviewer).queryParam("policy", policy).queryParam("limit", 5)
                .get("/v1/retraining-triggers").then().statusCode(200).extract().jsonPath().getList("id"), "rows run out");
        assertEquals(ids.subList(0, 2), given().queryParam("policy", policy).queryParam("limit", 2)
                .get("/v1/retraining-triggers").then().statusCode(200).extract().jsonPath().getList("id"), "an operator sees all");
    }

    /** A firing row that ended (FAILED: no sweep moves it on), of {@code policy}, measured over {@code scopeJson}. */
    static UUID storedFinishedFiring(String policy, String scopeJson, Instant firedAt) {
        TriggerFiring firing = new TriggerFiring();
        firing.id = UUID.randomUUID();
        firing.policyId = policy;
        firing.policyVersion = "test";
        firing.triggerName = "stored";
        firing.intervention = "stored";
        firing.status = TriggerFiring.Status.FAILED.name();
        firing.triggerJson = "{}";
        firing.scopeJson = scopeJson;
        firing.evidenceJson = "{}";
        firing.error = "test: stored directly";
        firing.firedAt = firedAt;
        firing.updatedAt = firedAt;
        QuarkusTransaction.requiringNew().run(firing::persist);
        return firing.id;
    }

    /** Sweeps {@code policy} (its reviews trigger fires), waits for the job and the firing's candidate; its version. */
    /**
     * The database goes away in the middle of a firing: the sweep's transaction has measured, built the firing's prompt
     * set and queued its job, and waits to insert the firing row (held by the test's table lock) when its backend is terminated,
     * as a PostgreSQL restart does. Nothing of the half firing stays, the sweep reports the failure as transient (the
     * scheduled sweep tries again next period), and the next sweep fires the trigger exactly once.
     */
    @Test
    void aFiringCutOffByTheDatabaseLeavesNothingAndTheNextSweepFiresItOnce() throws Exception {
        String intervention = newIntervention();
        generate(intervention, 1, 3);
        String id = "trigger-outage-" + UUID.randomUUID().toString().substring(0, 8);
        Policy policy = parse(id, """
                id: %1$s
                tenants: [%2$s]
                retraining:
                  - name: sad
                    intervention: %3$s
                    when: {scorer: {name: sadness, above: -1, atLeast: 1, minOutputs: 3, window: 1d}}
                    coolDown: 1d
                    train: {method: mean-shift, sites: resid}
                scorers:
                  - {name: sadness, lexicon: lexicons/sadness.txt}
                """.formatted(id, TENANT, intervention));
        String requestedBy = "trigger:" + id + "/sad";

        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Connection holder = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword);
             Connection observer = DriverManager.getConnection(jdbcUrl, dbUser, dbPassword)) {
            holder.setAutoCommit(false);
            try (Statement lock = holder.createStatement()) {
                lock.execute("lock table retraining_trigger_firings in share row exclusive mode");
            }
            Future<Map<String, Outcome>> sweep = pool.submit(() -> triggers.sweep(List.of(policy)));
            await().atMost(WAIT).until(() -> blockedFiringInserts(observer), pids -> !pids.isEmpty());
            for (int pid : blockedFiringInserts(observer)) {
                try (Statement terminate = observer.createStatement()) {
                    terminate.execute("select pg_terminate_backend(" + pid + ")");
                }
            }
            ExecutionException failed = assertThrows(ExecutionException.class, () -> sweep.get(WAIT.toSeconds(), TimeUnit.SECONDS));
            assertTrue(Failures.isTransient(failed.getCause()), "a transient failure, tried again next period: " + failed.getCause());
            holder.rollback();

            assertEquals(0, count(observer, "select count(*) from retraining_jobs where requested_by = ?", requestedBy));
            assertEquals(0, count(observer, "select count(*) from retraining_trigger_firings where policy_id = ?", id));
            assertEquals(0, count(observer, "select count(*) from prompt_sets where name like ?",
                    RetrainingTriggers.prefix(intervention) + "-trig-%"));
        } finally {
            pool.shutdownNow();
        }

        // the scheduled sweep's next period: the pool may hand out a connection the restart left dead once more
        Map<String, Outcome> next = await().atMost(WAIT).ignoreExceptionsMatching(Failures::isTransient)
                .until(() -> triggers.sweep(List.of(policy)), outcome -> true);
        assertEquals(Map.of(id + "/sad", Outcome.FIRED), next);
        assertEquals("QUEUED", firing(id, "sad").getString("status"));
        assertEquals(Map.of(id + "/sad", Outcome.COOLING_DOWN), triggers.sweep(List.of(policy)));
        assertEquals(1, given().queryParam("policy", id).get("/v1/retraining-triggers").jsonPath().getList("id").size());
        assertEquals("trigger:" + id + "/sad", RetrainingQuarkusTest.awaitFinished(firing(id, "sad").getString("jobId"))
                .getString("requestedBy"));
    }

    /** Backends waiting on the test's lock to insert a firing row (asked outside the lock's transaction). */
    static List<Integer> blockedFiringInserts(Connection observer) throws SQLException {
        List<Integer> pids = new ArrayList<>();
        try (Statement query = observer.createStatement();
             ResultSet rows = query.executeQuery("select pid from pg_stat_activity where wait_event_type = 'Lock'"
                     + " and query like 'insert into retraining_trigger_firings%'")) {
            while (rows.next()) {
                pids.add(rows.getInt(1));
            }
        }
        return pids;
    }

    static long count(Connection connection, String sql, String parameter) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(sql)) {
            query.setString(1, parameter);
            try (ResultSet rows = query.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }

    int fireAndAwaitCandidate(Policy policy) {
        assertEquals(Outcome.FIRED, triggers.sweep(List.of(policy)).get(policy.id() + "/reviews"));
        int version = RetrainingQuarkusTest.awaitFinished(onlyFiring(policy.id()).getString("jobId")).getInt("resultVersion");
        assertEquals(version, awaitStatus(policy.id(), "AWAITING_PROMOTION").getInt("resultVersion"));
        return version;
    }

    /**
     * The watch decides at its window's end (a day), not once minOutputs are counted: looked at now it goes on
     * watching; looked at as of the window's end it decides. The firing after that.
     */
    JsonPath endOfWatch(JsonPath watching) {
        UUID firingId = UUID.fromString(watching.getString("id"));
        String policyId = watching.getString("policy");
        triggers.advanceAt(firingId, Instant.now());
        assertEquals("WATCHING", onlyFiring(policyId).getString("status"), "minOutputs counted, but the window is not over");
        Instant end = Instant.parse(onlyFiring(policyId).getString("steps[3].detail.decidesAt"));
        triggers.advanceAt(firingId, end.plusSeconds(1));
        return onlyFiring(policyId);
    }

    static JsonPath firing(String policy, String trigger) {
        JsonPath list = given().queryParam("policy", policy).get("/v1/retraining-triggers").then().statusCode(200).extract().jsonPath();
        String firingId = list.getString("find { it.trigger == '" + trigger + "' }.id");
        return given().get("/v1/retraining-triggers/" + firingId).then().statusCode(200).extract().jsonPath();
    }

    /** Three outputs of version 1, each reviewed as a violation; the sweep fires the policy's trigger on them. */
    List<Generated> firedByThreeViolations(String intervention, Policy policy) {
        List<Generated> outputs = generate(intervention, 1, 3);
        outputs.forEach(output -> review(output, "violation"));
        assertEquals(Map.of(policy.id() + "/auto", Outcome.FIRED), triggers.sweep(List.of(policy)));
        return outputs;
    }

    /**
     * A fresh intervention whose version 1, promoted by an operator, is a mean shift fitted on the kindness sets swapped
     * (it steers towards meanness) whose training-data provenance is relabelled as the kindness sets the right way round:
     * an active version that does badly while the intervention's base sets are the right ones. (A version as good as
     * no steering is not enough: the violating outputs joining the source set cost the candidate some of the shipped
     * map's effect, and it came out 7/400 against 15/400 unsteered, not better beyond noise.)
     */
    static String badButLabelledRight() {
        String swapped = RetrainingQuarkusTest.name();
        Map<String, Object> body = RetrainingQuarkusTest.body("mean-shift");
        body.put("source", "kindness-target");
        body.put("target", "kindness-source");
        RetrainingQuarkusTest.awaitFinished(RetrainingQuarkusTest.queue(swapped, body));
        Intervention fitted = InterventionFile.read(QuarkusTransaction.requiringNew().call(() ->
                InterventionVersion.of(swapped, 1).orElseThrow().mapBlob));
        JsonPath provenance = JsonPath.from(fitted.metadata().get("training_data_sha256"));
        assertEquals(given().get("/v1/prompt-sets/kindness-target").path("sha256"), provenance.getString("source"));
        Map<String, String> metadata = new TreeMap<>(fitted.metadata());
        metadata.put("training_data_sha256", String.format("{\"source\": \"%s\", \"target\": \"%s\"}",
                provenance.getString("target"), provenance.getString("source")));
        String name = RetrainingQuarkusTest.name();
        byte[] relabelled = InterventionFile.write(new Intervention(name, fitted.method(), fitted.modelFingerprint(),
                fitted.concept(), metadata, fitted.maps()));
        given().queryParam("kind", "toxicity").queryParam("description", "test: meaner stories, labelled kinder")
                .contentType("application/octet-stream").body(relabelled).post("/v1/interventions/" + name + "/versions")
                .then().statusCode(201);
        approve(name, 1);
        return name;
    }

    /**
     * A fresh intervention whose version 1, promoted by an operator, is one LinEAS step at a vanishing learning rate
     * from the identity on {@code source} and {@code target}: steering as good as none, with those sets as provenance.
     */
    static String asGoodAsUnsteered(String source, String target) {
        String name = RetrainingQuarkusTest.name();
        Map<String, Object> body = RetrainingQuarkusTest.body("lineas");
        body.put("source", source);
        body.put("target", target);
        body.put("steps", 1);
        body.put("learningRate", 1e-9);
        RetrainingQuarkusTest.awaitFinished(RetrainingQuarkusTest.queue(name, body));
        approve(name, 1);
        return name;
    }

    /** A policy whose one trigger fires on 3 violation verdicts, gates its job on the kindness eliciting set, promotes. */
    Policy autoPolicy(String intervention) {
        String id = "trigger-auto-" + UUID.randomUUID().toString().substring(0, 8);
        return parse(id, """
                id: %1$s
                tenants: [%2$s]
                retraining:
                  - name: auto
                    intervention: %3$s
                    when: {reviews: {verdict: violation, atLeast: 0.5, minReviews: 3, window: 1d}}
                    coolDown: 1d
                    train:
                      method: mean-shift
                      sites: resid
                      evaluation: {prompts: kindness-elicit, concept: meanness, desired: kindness, strength: 2}
                    promote: auto
                    watch: {window: 1d, minOutputs: 2}
                """.formatted(id, TENANT, intervention));
    }

    /** A fresh intervention: version 1 trained from the stored kindness sets and promoted by an operator. */
    static String newIntervention() {
        String name = RetrainingQuarkusTest.name();
        RetrainingQuarkusTest.awaitFinished(RetrainingQuarkusTest.queue(name, RetrainingQuarkusTest.body("mean-shift")));
        approve(name, 1);
        return name;
    }

    /** An operator promotes a version (as the operator's approval of a 'promote: approval' trigger's version). */
    static void approve(String intervention, int version) {
        given().post("/v1/interventions/" + intervention + "/versions/" + version + "/promote").then().statusCode(200);
        assertEquals(version, given().get("/v1/interventions/" + intervention).jsonPath().getInt("activeVersion"));
    }

    /** A policy of its own (so its triggers' state rows are too) over the tenant, with tiny minimums. */
    Policy policy(String intervention, double atLeast) {
        String id = "trigger-test-" + UUID.randomUUID().toString().substring(0, 8);
        String yaml = """
                id: %1$s
                tenants: [%2$s]
                retraining:
                  - name: reviews
                    intervention: %3$s
                    when: {reviews: {verdict: violation, atLeast: %4$s, minReviews: 3, window: 1d}}
                    coolDown: 1d
                    train: {method: mean-shift, sites: resid}
                    promote: approval
                    watch: {window: 1d, minOutputs: 2}
                  - name: needs-many
                    intervention: %3$s
                    when: {reviews: {atLeast: 0.01, minReviews: 1000, window: 1d}}
                    coolDown: 1d
                    train: {method: mean-shift}
                  - name: sadness
                    intervention: %3$s
                    when: {scorer: {name: sadness, above: 1, atLeast: 0.5, minOutputs: 3, window: 1d}}
                    coolDown: 1d
                    train: {method: mean-shift}
                scorers:
                  - {name: sadness, lexicon: lexicons/sadness.txt}
                """.formatted(id, TENANT, intervention, atLeast);
        return parse(id, yaml);
    }

    Policy parse(String id, String yaml) {
        PolicyParser.Result parsed = new PolicyParser(Path.of("policies"), catalog).parse(id + ".yaml", yaml.getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of(), parsed.errors());
        return parsed.policy();
    }

    /** Two sweeps of one policy started together, as two gateway replicas would. */
    List<Map<String, Outcome>> twoSweepsAtOnce(Policy policy) {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Map<String, Outcome>>> running = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                running.add(pool.submit(() -> {
                    start.await();
                    return triggers.sweep(List.of(policy));
                }));
            }
            start.countDown();
            List<Map<String, Outcome>> outcomes = new ArrayList<>();
            for (Future<Map<String, Outcome>> sweep : running) {
                outcomes.add(sweep.get(WAIT.toSeconds(), TimeUnit.SECONDS));
            }
            return outcomes;
        } catch (Exception e) {
            throw new AssertionError("a sweep failed", e);
        } finally {
            pool.shutdownNow();
        }
    }

    record Generated(String requestId, long auditId, String text, int version) {}

    /** {@code count} generations steered explicitly by {@code intervention}, each checked to apply {@code version}. */
    static List<Generated> generate(String intervention, int version, int count) {
        List<Generated> generated = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String requestId = "trigger-" + UUID.randomUUID();
            Map<String, Object> request = new LinkedHashMap<>();
            request.put("id", requestId);
            request.put("tenant", TENANT);
            request.put("prompt", "Once upon a time, a girl named Lily " + i);
            request.put("maxTokens", 24);
            request.put("seed", 100 + i);
            request.put("steering", List.of(Map.of("intervention", intervention, "strength", 0.5)));
            JsonPath result = given().body(request).contentType("application/json").post("/v1/generations")
                    .then().statusCode(200).extract().jsonPath();
            assertEquals("COMPLETED", result.getString("status"), result.prettify());
            assertEquals(intervention, result.getString("applied[0].intervention"));
            assertEquals(version, result.getInt("applied[0].version"));
            long[] auditId = new long[1];
            await().atMost(WAIT).until(() -> {
                List<Map<String, Object>> items = given().queryParam("tenant", TENANT).queryParam("intervention", intervention)
                        .get("/v1/audit").jsonPath().getList("items");
                return items.stream().filter(item -> requestId.equals(item.get("requestId"))).findFirst()
                        .map(item -> auditId[0] = ((Number) item.get("id")).longValue()).isPresent();
            });
            generated.add(new Generated(requestId, auditId[0], result.getString("text"), result.getInt("applied[0].version")));
        }
        return generated;
    }

    void review(Generated output, String verdict) {
        given().header("Authorization", reviewer).contentType("application/json").body(Map.of("verdict", verdict))
                .post("/v1/audit/" + output.auditId + "/review").then().statusCode(201);
    }

    static JsonPath onlyFiring(String policy) {
        JsonPath list = given().queryParam("policy", policy).get("/v1/retraining-triggers").then().statusCode(200).extract().jsonPath();
        assertEquals(1, list.getList("id").size(), list.prettify());
        return given().get("/v1/retraining-triggers/" + list.getString("[0].id")).then().statusCode(200).extract().jsonPath();
    }

    static JsonPath awaitStatus(String policy, String status) {
        JsonPath[] firing = new JsonPath[1];
        await().atMost(WAIT).pollInterval(Duration.ofMillis(250)).until(() -> {
            firing[0] = onlyFiring(policy);
            return firing[0].getString("status").equals(status);
        });
        return firing[0];
    }
}
