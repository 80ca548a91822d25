package io.steergate.gateway;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.steergate.audit.AuditRecord;
import io.steergate.messages.AppliedIntervention;
import io.steergate.messages.GenerationRequest;
import io.steergate.messages.GenerationResult;
import io.steergate.messages.Job;
import io.steergate.messages.JobResult;
import io.steergate.messages.ModelRef;
import io.steergate.messages.PolicyRef;
import io.steergate.policy.Policy;
import io.steergate.policy.PolicyEngine;
import io.steergate.policy.PolicyVersionRecord;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.TopicClient;
import io.steergate.testing.TestModel;
import jakarta.inject.Inject;
import jakarta.persistence.EntityManager;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.commons.codec.digest.DigestUtils;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The escalation ladder and counterfactual sampling over real Kafka and PostgreSQL, with the shipped policies
 * moderated-stories (kindness 0.5; rungs 1.0 and 1.5; withhold) and reviewed-stories (kindness 1.0; rung 2.0; flag).
 * Job results are handed to GenerationService.complete as a worker would send them, each right after the previous
 * one; a re-queued job also reaches the real worker, which has 200 tokens to generate for it, so its own result comes
 * after the test's and is ignored (the request is finished or at a later attempt by then).
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class EscalationQuarkusTest {

    static final Duration WAIT = Duration.ofSeconds(60);
    static final String MEAN = " the mean bully was rude and hit him";
    static final String KIND = " the little bird sang a happy song";
    static final ModelRef MODEL = new ModelRef("stories260K", "sha256:test");

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @Inject
    GenerationService generations;

    @Inject
    PolicyEngine policies;

    @Inject
    MeterRegistry metrics;

    @Inject
    ObjectMapper json;

    @Inject
    EntityManager entities;

    @Inject
    LimitsConfig limits;

    TopicClient kafka;

    @BeforeEach
    void connect() {
        kafka = new TopicClient(bootstrapServers);
        // the demo interventions are imported once a worker registered its model; the policies follow on reload
        await().atMost(WAIT).until(() -> policies.policy("moderated-stories").isPresent()
                && policies.policy("reviewed-stories").isPresent());
    }

    @AfterEach
    void disconnect() {
        kafka.close();
    }

    @Test
    void aFlaggedFirstOutputIsGeneratedAgainWithTheNextRungAndTheSecondIsDelivered() throws Exception {
        String id = id("escalated");
        String first = persistPending(id, "moderated-co", "moderated-stories", false, false);

        generations.complete(completed(first, MEAN));

        Generation pending = row("moderated-co", id);
        assertEquals(Generation.State.PENDING, pending.status, "a flagged output with a next rung does not finish the request");
        assertEquals(1, pending.attempt);
        Job retry = json.readValue(pending.jobJson, Job.class);
        assertEquals(first + ".1", retry.requestId());
        assertEquals(1L, retry.seed(), "the same seed");
        assertEquals("Once upon a time", retry.prompt());
        assertEquals(List.of(new AppliedIntervention("kindness", activeKindness(), 1.0)), retry.plan(), "rung 1's plan");
        assertFalse(retry.counterfactual());

        // at once: the real worker's own result for this job must come after it (and is then ignored)
        generations.complete(completed(first + ".1", KIND));
        // the job was queued through the outbox onto the model's real job topic, keyed by its job key (not the model)
        TopicClient.Received queued = kafka.awaitRecord(TestModel.JOBS_TOPIC, r -> r.text() != null && r.text().contains("\"requestId\":\"" + first + ".1\""), WAIT);
        assertEquals(first + ".1", queued.key());

        Generation done = row("moderated-co", id);
        assertEquals(Generation.State.COMPLETED, done.status);
        GenerationResult result = json.readValue(done.resultJson, GenerationResult.class);
        assertEquals(KIND, result.text(), "the second attempt's output is delivered");
        assertEquals(retry.plan(), result.applied());
        assertNull(result.flagged());
        assertFalse(done.resultJson.contains("\"flagged\""), "absent when not flagged: " + done.resultJson);

        AuditRecord audit = audit("moderated-co", id);
        assertEquals(2, audit.canonicalForm);
        assertEquals(KIND, audit.outputText);
        JsonNode attempts = json.readTree(audit.attemptsJson);
        assertEquals(2, attempts.size(), audit.attemptsJson);
        assertEquals(0, attempts.get(0).get("rung").asInt());
        assertEquals("flagged", attempts.get(0).get("outcome").asText());
        assertEquals("meanness", attempts.get(0).at("/flagged/0").asText());
        assertEquals(MEAN, attempts.get(0).get("text").asText(), "the output escalated past is kept for review");
        assertEquals(0.5, attempts.get(0).at("/plan/0/strength").asDouble());
        assertEquals(1, attempts.get(1).get("rung").asInt());
        assertEquals("passed", attempts.get(1).get("outcome").asText());
        assertEquals(1.0, attempts.get(1).at("/plan/0/strength").asDouble());
        assertTrue(attempts.get(1).get("text") == null, "the delivered output is the record's output text");
        // each rung's own decision trace is kept with its attempt; rung 0's is the record's decision trace
        assertNull(attempts.get(0).get("trace"), audit.attemptsJson);
        List<String> rungTrace = json.convertValue(attempts.get(1).get("trace"), List.class);
        assertTrue(rungTrace.contains("escalation rung 1 of 2"), String.valueOf(rungTrace));
        assertTrue(rungTrace.stream().anyMatch(line -> line.contains("kindness")), String.valueOf(rungTrace));
        assertEquals(List.of("test"), json.readValue(audit.decisionTraceJson, List.class));

        JsonPath detail = given().get("/v1/audit/" + audit.id).then().statusCode(200).extract().jsonPath();
        assertEquals(List.of("flagged", "passed"), detail.getList("attempts.outcome"));
        assertEquals(2, detail.getInt("canonicalForm"));
        given().queryParam("tenant", "moderated-co").get("/v1/audit/verify").then().statusCode(200)
                .body("ok", org.hamcrest.Matchers.equalTo(true));
    }

    @Test
    void whenEveryRungIsFlaggedTheOutputIsWithheldWithTheScores() throws Exception {
        String id = id("withheld");
        String first = persistPending(id, "moderated-co", "moderated-stories", false, false);
        double before = counter("steergate.escalation.attempts", "rung", "2", "outcome", "flagged");

        generations.complete(completed(first, MEAN));
        generations.complete(completed(first + ".1", MEAN));
        generations.complete(completed(first + ".2", MEAN + " again"));

        Generation done = row("moderated-co", id);
        assertEquals(Generation.State.REJECTED, done.status);
        assertEquals("OUTPUT_WITHHELD", done.errorCode);
        GenerationResult result = json.readValue(done.resultJson, GenerationResult.class);
        assertNull(result.text(), "nothing of the output is delivered");
        assertEquals(List.of("meanness"), result.flagged());
        String message = result.error().message();
        assertTrue(message.contains("after 3 attempts"), message);
        assertTrue(message.contains("meanness 0.4444 (threshold 0.05)"), message);
        assertEquals(1.5, result.applied().get(0).strength(), "the last rung's plan");
        assertEquals(before + 1, counter("steergate.escalation.attempts", "rung", "2", "outcome", "flagged"));

        AuditRecord audit = audit("moderated-co", id);
        assertEquals("OUTPUT_WITHHELD", audit.errorCode);
        assertNull(audit.outputText);
        JsonNode attempts = json.readTree(audit.attemptsJson);
        assertEquals(3, attempts.size(), audit.attemptsJson);
        for (int rung = 0; rung < 3; rung++) {
            assertEquals(rung, attempts.get(rung).get("rung").asInt());
            assertEquals("flagged", attempts.get(rung).get("outcome").asText());
        }
        assertEquals(MEAN + " again", attempts.get(2).get("text").asText(), "the withheld output is audited");
    }

    @Test
    void everyAttemptsTokensAndItsCounterfactualRowsAreChargedToTheTenantDeliveredOrNot() throws Exception {
        QuotaQuarkusTest.awayFromTheEndOf(ChronoUnit.DAYS, Duration.ofMinutes(2));
        // a tenant of its own with a token quota (test profile), the moderated-stories ladder; counterfactual asked
        String id = id("charged");
        String first = persistPending(id, QUOTA_TENANT, "moderated-stories", true, false);
        long before = tokensUsed(QUOTA_TENANT);

        // attempt 0: 8 tokens and a counterfactual row of 6, flagged and escalated past (never delivered)
        generations.complete(charged(first, MEAN, 8, 6));
        assertEquals(before + 14, tokensUsed(QUOTA_TENANT), "the escalated attempt and its counterfactual row are charged");
        // the same result again (redelivered) and a late duplicate are stale: nothing more
        generations.complete(charged(first, MEAN, 8, 6));
        assertEquals(before + 14, tokensUsed(QUOTA_TENANT));
        // rung 1 asks for no counterfactual: what its result claims for one is not charged; a forged usage is bounded
        // by the job's maxTokens (200)
        generations.complete(charged(first + ".1", MEAN, 1_000_000, 50));
        assertEquals(before + 14 + 200, tokensUsed(QUOTA_TENANT));
        generations.complete(charged(first + ".2", MEAN, 5, 0));
        assertEquals(before + 14 + 200 + 5, tokensUsed(QUOTA_TENANT), "the withheld last attempt is charged too");
        generations.complete(charged(first + ".2", MEAN, 5, 0));
        assertEquals(before + 14 + 200 + 5, tokensUsed(QUOTA_TENANT), "a finished request is charged nothing more");

        Generation done = row(QUOTA_TENANT, id);
        assertEquals("OUTPUT_WITHHELD", done.errorCode);
        JsonNode attempts = json.readTree(audit(QUOTA_TENANT, id).attemptsJson);
        assertEquals(List.of(14L, 200L, 5L), List.of(attempts.get(0).get("chargedTokens").asLong(),
                attempts.get(1).get("chargedTokens").asLong(), attempts.get(2).get("chargedTokens").asLong()),
                "each attempt's charge is audited");
    }

    @Test
    void aHugeUndeliveredTextIsStoredCutPerAttemptWithItsLength() throws Exception {
        int cap = limits.maxTokens() * GenerationService.MAX_CHARS_PER_TOKEN;
        String huge = MEAN + " " + "x".repeat(cap + 1000);
        String id = id("huge");
        String first = persistPending(id, "moderated-co", "moderated-stories", true, false);

        generations.complete(new JobResult(first, GenerationResult.Status.COMPLETED, huge, MODEL,
                new GenerationResult.Usage(4, 8), 1, 2, null, "y".repeat(cap + 1), 8, null));
        generations.complete(completed(first + ".1", huge));
        generations.complete(completed(first + ".2", huge + " again"));

        Generation done = row("moderated-co", id);
        assertEquals(Generation.State.REJECTED, done.status);
        AuditRecord audit = audit("moderated-co", id);
        JsonNode attempts = json.readTree(audit.attemptsJson);
        assertEquals(3, attempts.size(), "one per rung, no more");
        for (int rung = 0; rung < 3; rung++) {
            JsonNode attempt = attempts.get(rung);
            assertEquals(cap, attempt.get("text").asText().length(), "rung " + rung);
            assertTrue(huge.startsWith(attempt.get("text").asText()), "its first characters, rung " + rung);
            assertEquals(huge.length() + (rung == 2 ? 6 : 0), attempt.get("textChars").asInt(), "rung " + rung);
        }
        assertTrue(audit.attemptsJson.length() < 4 * cap, "bounded: " + audit.attemptsJson.length());
        assertEquals(cap, audit.counterfactualText.length(), "the counterfactual is bounded the same way");
        given().queryParam("tenant", "moderated-co").get("/v1/audit/verify").then().statusCode(200)
                .body("ok", org.hamcrest.Matchers.equalTo(true));
    }

    /**
     * A result planned by another gateway under a policy this one does not hold (a rollout that adds or removes a
     * policy file): it is judged by that policy's recorded version, escalated and withheld as that version says.
     * Before, it was delivered unscored: no scores, no flag, no escalation.
     */
    @Test
    void aResultUnderAPolicyNotInForceHereIsJudgedByItsRecordedVersion() throws Exception {
        String id = id("recorded");
        String policyId = "moderated-elsewhere-" + UUID.randomUUID().toString().substring(0, 8);
        byte[] content = Files.readString(Path.of("policies", "moderated-stories.yaml"))
                .replace("id: moderated-stories", "id: " + policyId).getBytes(StandardCharsets.UTF_8);
        PolicyRef ref = new PolicyRef(policyId, "sha256:" + DigestUtils.sha256Hex(content));
        QuarkusTransaction.requiringNew().run(() -> {
            PolicyVersionRecord record = new PolicyVersionRecord();
            record.policyId = ref.id();
            record.version = ref.version();
            record.file = policyId + ".yaml";
            record.content = new String(content, StandardCharsets.UTF_8);
            record.firstLoadedAt = Instant.now();
            record.persist();
        });
        assertTrue(policies.policy(policyId).isEmpty(), "not in force on this gateway");
        String first = persistPending(id, "moderated-co", ref, 200);

        generations.complete(completed(first, MEAN));
        assertEquals(Generation.State.PENDING, row("moderated-co", id).status, "escalated to the recorded version's next rung");
        generations.complete(completed(first + ".1", MEAN));
        generations.complete(completed(first + ".2", MEAN));

        Generation done = row("moderated-co", id);
        assertEquals(Generation.State.REJECTED, done.status);
        assertEquals("OUTPUT_WITHHELD", done.errorCode);
        GenerationResult result = json.readValue(done.resultJson, GenerationResult.class);
        assertEquals(List.of("meanness"), result.flagged());
        assertTrue(result.error().message().contains("meanness 0.5000 (threshold 0.05)"), result.error().message());
    }

    /** A result under a policy this gateway neither holds nor finds recorded is withheld, never delivered unjudged. */
    @Test
    void aResultUnderAPolicyKnownNowhereIsWithheldNotDeliveredUnscored() throws Exception {
        String id = id("unknown-policy");
        String first = persistPending(id, "moderated-co", new PolicyRef("nowhere-" + UUID.randomUUID().toString().substring(0, 8),
                "sha256:" + "0".repeat(64)), 200);

        generations.complete(completed(first, " a kind story"));

        Generation done = row("moderated-co", id);
        assertEquals(Generation.State.REJECTED, done.status);
        assertEquals("OUTPUT_WITHHELD", done.errorCode);
        GenerationResult result = json.readValue(done.resultJson, GenerationResult.class);
        assertNull(result.text());
        assertTrue(result.error().message().contains("is neither in force on this gateway nor recorded"), result.error().message());
        JsonNode attempt = json.readTree(audit("moderated-co", id).attemptsJson).get(0);
        assertEquals(" a kind story", attempt.get("text").asText(), "the withheld output is audited");
        assertEquals("unjudged", attempt.get("outcome").asText(), "no scorer ran: the audit must not say it passed");
    }

    /** Marks a stored PENDING request as a live stream, as accept does when its policy could not hold the text back. */
    void markLive(String tenant, String id) {
        QuarkusTransaction.requiringNew().run(() -> entities.createNativeQuery(
                "update generations set live_stream = true where tenant = ?1 and request_id = ?2")
                .setParameter(1, tenant).setParameter(2, id).executeUpdate());
    }

    /**
     * A live stream's client has every piece by the time the output is judged. Under a policy that now escalates and
     * withholds (an operator added the ladder after the stream began, or the result reaches a gateway whose policy
     * does), the output is judged and delivered flagged: before, it was regenerated or withheld, and the audit said
     * REJECTED with no text while the client had the whole flagged output.
     */
    @Test
    void aLiveStreamsOutputIsJudgedButNeverRegeneratedOrWithheld() throws Exception {
        String id = id("live");
        String first = persistPending(id, "moderated-co", "moderated-stories", false, false);
        markLive("moderated-co", id);

        generations.complete(completed(first, MEAN));

        Generation done = row("moderated-co", id);
        assertEquals(Generation.State.COMPLETED, done.status, "not escalated: attempt " + done.attempt);
        GenerationResult result = json.readValue(done.resultJson, GenerationResult.class);
        assertEquals(MEAN, result.text());
        assertEquals(List.of("meanness"), result.flagged(), "judged as any output is");
        AuditRecord audit = audit("moderated-co", id);
        assertEquals(MEAN, audit.outputText, "the audit holds what the client has");
        assertEquals("flagged", json.readTree(audit.attemptsJson).get(0).get("outcome").asText());
    }

    /** Under a policy this gateway cannot find, a live stream's output is delivered unjudged, and said to be. */
    @Test
    void aLiveStreamUnderAPolicyKnownNowhereIsAuditedAsDeliveredUnjudged() throws Exception {
        String id = id("live-unknown");
        String first = persistPending(id, "moderated-co", new PolicyRef("nowhere-" + UUID.randomUUID().toString().substring(0, 8),
                "sha256:" + "0".repeat(64)), 200);
        markLive("moderated-co", id);

        generations.complete(completed(first, " a kind story"));

        Generation done = row("moderated-co", id);
        assertEquals(Generation.State.COMPLETED, done.status);
        AuditRecord audit = audit("moderated-co", id);
        assertEquals(" a kind story", audit.outputText);
        assertEquals("unjudged", json.readTree(audit.attemptsJson).get(0).get("outcome").asText());
    }

    @Test
    void underOnFailureFlagTheLastOutputIsDeliveredFlagged() throws Exception {
        String id = id("flagged");
        String first = persistPending(id, "reviewed-co", "reviewed-stories", false, false);

        generations.complete(completed(first, MEAN));
        assertEquals(Generation.State.PENDING, row("reviewed-co", id).status);
        generations.complete(completed(first + ".1", MEAN));

        Generation done = row("reviewed-co", id);
        assertEquals(Generation.State.COMPLETED, done.status);
        GenerationResult result = json.readValue(done.resultJson, GenerationResult.class);
        assertEquals(MEAN, result.text());
        assertEquals(List.of("meanness"), result.flagged());
        assertEquals(2.0, result.applied().get(0).strength());
        assertTrue(done.resultJson.contains("\"flagged\":[\"meanness\"]"), done.resultJson);
    }

    @Test
    void aLateResultOfAnEarlierAttemptIsIgnored() throws Exception {
        String id = id("stale");
        String first = persistPending(id, "moderated-co", "moderated-stories", false, false);
        double stale = counter("steergate.job.results.stale");

        generations.complete(completed(first, MEAN));
        // attempt 0 again (redelivered, or a second worker's), now passing: attempt 1 is in flight, so it is stale
        generations.complete(completed(first, KIND));

        Generation pending = row("moderated-co", id);
        assertEquals(Generation.State.PENDING, pending.status);
        assertEquals(1, pending.attempt);
        assertEquals(stale + 1, counter("steergate.job.results.stale"));

        generations.complete(completed(first + ".1", KIND + " at last"));
        Generation done = row("moderated-co", id);
        assertEquals(Generation.State.COMPLETED, done.status);
        assertEquals(KIND + " at last", json.readValue(done.resultJson, GenerationResult.class).text());
        assertEquals(2, json.readTree(audit("moderated-co", id).attemptsJson).size());
    }

    @Test
    void aSampledRuleSetsTheJobsCounterfactualFromTheSeed() throws Exception {
        // side-by-side: share 1.0, delivered; private: share 0; otherwise share 0.1, audit only
        Job always = acceptAndReadJob(request("side-by-side", 11L));
        assertTrue(always.counterfactual());
        assertTrue(row("moderated-co", lastId).deliverCounterfactual);

        for (long seed = 1; seed <= 5; seed++) {
            Job never = acceptAndReadJob(request("private", seed));
            assertFalse(never.counterfactual(), "share 0 never samples");
        }

        Policy.Counterfactual tenth = policies.policy("moderated-stories").orElseThrow().rules().get(2).counterfactual();
        long drawn = 1;
        while (!tenth.drawn(drawn)) {
            drawn++;
        }
        long notDrawn = 1;
        while (tenth.drawn(notDrawn)) {
            notDrawn++;
        }
        Job sampled = acceptAndReadJob(request("general", drawn));
        assertTrue(sampled.counterfactual(), "seed " + drawn + " is drawn at share 0.1");
        assertFalse(row("moderated-co", lastId).deliverCounterfactual, "always-kind keeps it in the audit record only");
        assertFalse(acceptAndReadJob(request("general", notDrawn)).counterfactual(), "seed " + notDrawn + " is not drawn");
    }

    @Test
    void theCounterfactualIsAuditedAndDeliveredOnlyWhenThePolicySaysSo() throws Exception {
        String delivered = id("cf-delivered");
        String deliveredKey = persistPending(delivered, "moderated-co", "moderated-stories", true, true);
        generations.complete(withCounterfactual(deliveredKey, KIND, " the unsteered text"));

        GenerationResult shown = json.readValue(row("moderated-co", delivered).resultJson, GenerationResult.class);
        assertEquals(" the unsteered text", shown.counterfactual());
        assertEquals(" the unsteered text", audit("moderated-co", delivered).counterfactualText);

        String kept = id("cf-audited");
        String keptKey = persistPending(kept, "moderated-co", "moderated-stories", true, false);
        generations.complete(withCounterfactual(keptKey, KIND, " the unsteered text"));

        String keptJson = row("moderated-co", kept).resultJson;
        assertNull(json.readValue(keptJson, GenerationResult.class).counterfactual());
        assertFalse(keptJson.contains("counterfactual"), keptJson);
        AuditRecord keptAudit = audit("moderated-co", kept);
        assertEquals(" the unsteered text", keptAudit.counterfactualText);
        given().get("/v1/audit/" + keptAudit.id).then().statusCode(200)
                .body("counterfactual", org.hamcrest.Matchers.equalTo(" the unsteered text"));

        // not asked: a counterfactual a worker sends anyway is not stored
        String unasked = id("cf-unasked");
        String unaskedKey = persistPending(unasked, "moderated-co", "moderated-stories", false, false);
        generations.complete(withCounterfactual(unaskedKey, KIND, " forged"));
        assertNull(audit("moderated-co", unasked).counterfactualText);

        // a worker that does not generate counterfactuals yet answers null: the request completes without one
        String missing = id("cf-missing");
        String missingKey = persistPending(missing, "moderated-co", "moderated-stories", true, true);
        generations.complete(completed(missingKey, KIND));
        assertEquals(Generation.State.COMPLETED, row("moderated-co", missing).status);
        assertNull(json.readValue(row("moderated-co", missing).resultJson, GenerationResult.class).counterfactual());
    }

    @Test
    void theRealWorkerGeneratesTheNextRungAndItsOutputIsDelivered() throws Exception {
        String id = id("real-worker");
        String first = persistPending(id, "moderated-co", "moderated-stories", false, false, 24);

        // the first output as if the worker had written something mean; the next rung goes through the real worker
        generations.complete(completed(first, MEAN));

        GenerationResult result = json.readValue(kafka.awaitRecord("steer.results", id, WAIT).value(), GenerationResult.class);
        assertEquals(GenerationResult.Status.COMPLETED, result.status(), String.valueOf(result.error()));
        assertFalse(MODEL.equals(result.model()), "generated by the served model, not the test's stand-in");
        assertEquals(1.0, result.applied().get(0).strength(), "rung 1's plan");
        assertNull(result.flagged());
        assertEquals(0.0, result.scores().get("meanness"));
        assertFalse(result.text().isEmpty());
        JsonNode attempts = json.readTree(audit("moderated-co", id).attemptsJson);
        assertEquals(List.of("flagged", "passed"), List.of(attempts.get(0).get("outcome").asText(), attempts.get(1).get("outcome").asText()));
        assertEquals(first + ".1", attempts.get(1).get("jobKey").asText());
    }

    // ---- helpers ----

    /** The request id of the last request accepted by {@link #acceptAndReadJob}. */
    String lastId;

    GenerationRequest request(String channel, long seed) {
        lastId = id("sampled");
        return new GenerationRequest(lastId, "moderated-co", "Once upon a time", 4, 0.0, 1.0, seed, null,
                Map.of("channel", channel), null);
    }

    Job acceptAndReadJob(GenerationRequest request) throws Exception {
        generations.accept(new DecodedRequest.Valid(request), Generation.Source.KAFKA);
        return json.readValue(row(request.tenant(), request.id()).jobJson, Job.class);
    }

    int activeKindness() throws Exception {
        return policies.decide(request("general", 1L)).plan().get(0).version();
    }

    /** Stores a PENDING request as accept leaves it under {@code policyId} (kindness 0.5 or 1.0) and returns its job key. */
    String persistPending(String id, String tenant, String policyId, boolean counterfactual, boolean deliver) throws Exception {
        return persistPending(id, tenant, policyId, counterfactual, deliver, 200);
    }

    String persistPending(String id, String tenant, String policyId, boolean counterfactual, boolean deliver, int maxTokens)
            throws Exception {
        Policy policy = policies.policy(policyId).orElseThrow();
        return persistPending(id, tenant, new PolicyRef(policy.id(), policy.version()),
                policy.rules().get(policy.rules().size() - 1).apply().get(0).strength(), counterfactual, deliver, maxTokens);
    }

    /** Stores a PENDING request as accept leaves it under {@code ref} with kindness 0.5, which this gateway may not hold. */
    String persistPending(String id, String tenant, PolicyRef ref, int maxTokens) throws Exception {
        return persistPending(id, tenant, ref, 0.5, false, false, maxTokens);
    }

    String persistPending(String id, String tenant, PolicyRef ref, double strength, boolean counterfactual, boolean deliver,
            int maxTokens) throws Exception {
        GenerationRequest request = new GenerationRequest(id, tenant, "Once upon a time", maxTokens, 0.0, 1.0, 1L, null, null, null);
        List<AppliedIntervention> plan = List.of(new AppliedIntervention("kindness", activeKindness(), strength));
        return QuarkusTransaction.requiringNew().call(() -> {
            Generation row = new Generation();
            row.requestId = id;
            row.tenant = tenant;
            row.status = Generation.State.PENDING;
            row.source = Generation.Source.KAFKA;
            row.requestJson = json.writeValueAsString(request);
            row.decisionTraceJson = "[\"test\"]";
            row.acceptedAt = Instant.now();
            row.deliverCounterfactual = deliver;
            row.persist();
            row.jobJson = json.writeValueAsString(new Job(row.jobKey(), tenant, "stories260K", request.prompt(),
                    request.maxTokens(), 0.0, 1.0, 1L, ref, plan, row.acceptedAt.toEpochMilli(), counterfactual));
            return row.jobKey();
        });
    }

    /** A tenant with a token quota of its own in the test profile, which no other test sends as. */
    static final String QUOTA_TENANT = "quota-escalation";

    static JobResult charged(String jobKey, String text, int completionTokens, int counterfactualTokens) {
        return new JobResult(jobKey, GenerationResult.Status.COMPLETED, text, MODEL, new GenerationResult.Usage(4, completionTokens),
                1, 2, null, counterfactualTokens == 0 ? null : " unsteered", counterfactualTokens, null);
    }

    long tokensUsed(String tenant) {
        return QuarkusTransaction.requiringNew().call(() -> ((Number) entities.createNativeQuery(
                        "select coalesce(sum(used), 0) from quota_usage where tenant = :t and kind = 'tokens'"
                                + " and window_start = date_trunc('day', now() at time zone 'UTC') at time zone 'UTC'")
                .setParameter("t", tenant).getSingleResult()).longValue());
    }

    static JobResult completed(String jobKey, String text) {
        return withCounterfactual(jobKey, text, null);
    }

    static JobResult withCounterfactual(String jobKey, String text, String counterfactual) {
        return new JobResult(jobKey, GenerationResult.Status.COMPLETED, text, MODEL, new GenerationResult.Usage(4, 8), 1, 2,
                null, counterfactual);
    }

    static Generation row(String tenant, String id) {
        return QuarkusTransaction.requiringNew().call(() -> Generation.byTenantAndRequestId(tenant, id).orElseThrow());
    }

    static AuditRecord audit(String tenant, String id) {
        return QuarkusTransaction.requiringNew().call(() ->
                AuditRecord.<AuditRecord>find("tenant = ?1 and requestId = ?2", tenant, id).singleResult());
    }

    double counter(String name, String... tags) {
        var counter = metrics.find(name).tags(tags).counter();
        return counter == null ? 0 : counter.count();
    }

    static String id(String what) {
        return what + "-" + UUID.randomUUID();
    }
}
