package io.steergate.retraining;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.steergate.testing.SteerGateTestProfile;
import io.steergate.testing.Management;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The trainer's recovery sweep on the real broker and database: jobs left behind with no record on steer.retraining
 * (a record lost or acked without running, a trainer that died) are taken up again by the sweep alone, within
 * max-attempts (3) trainings. The test profile sweeps every 0.5 s and takes a record for lost after 3 s.
 */
@QuarkusTest
@TestProfile(SteerGateTestProfile.class)
class RetrainingRecoveryQuarkusTest {

    /**
     * A heartbeat this old reads "7 min old" whenever the sweep that finds it took its clock: within 30 s of the
     * insert, either side (a sweep's clock read just before the insert made exactly 7 minutes read "6 min").
     */
    private static final Duration HALF_PAST_SEVEN = Duration.ofMinutes(7).plusSeconds(30);


    @BeforeEach
    void importPromptSets() throws IOException {
        RetrainingQuarkusTest.importKindness();
    }

    @Test
    void aQueuedJobWhoseRecordWasLostIsRunByTheSweep() {
        String name = RetrainingQuarkusTest.name();
        UUID id = RetrainingQuarkusTest.insertJob(name, "QUEUED", 0, Instant.now().minus(Duration.ofHours(1)));
        JsonPath job = RetrainingQuarkusTest.awaitFinished(id.toString());
        // nothing had run, so re-queueing its record used no attempt
        assertEquals(1, job.getInt("attempts"));
        assertNull(job.get("lastError"));
        assertNull(job.get("error"));
        given().get("/v1/interventions/" + name).then().statusCode(200).body("versions.size()", equalTo(1))
                .body("versions[0].createdBy", equalTo("retraining-job:" + id));
    }

    @Test
    void aRunningJobWhoseTrainerDiedIsRestartedWithoutARedelivery() {
        String name = RetrainingQuarkusTest.name();
        UUID id = RetrainingQuarkusTest.insertJob(name, "RUNNING", 1, Instant.now().minus(HALF_PAST_SEVEN));
        JsonPath job = RetrainingQuarkusTest.awaitFinished(id.toString());
        assertEquals(2, job.getInt("attempts"));
        assertEquals("trainer died (heartbeat 7 min old)", job.getString("lastError"));
        assertNull(job.get("error"));
        given().get("/v1/interventions/" + name).then().statusCode(200).body("versions.size()", equalTo(1))
                .body("versions[0].createdBy", equalTo("retraining-job:" + id));
    }

    @Test
    void aJobWhoseTrainerDiedOnItsLastAttemptEndsFailedWithTheLastError() {
        String name = RetrainingQuarkusTest.name();
        UUID id = RetrainingQuarkusTest.insertJob(name, "RUNNING", 3, Instant.now().minus(HALF_PAST_SEVEN));
        JsonPath job = RetrainingQuarkusTest.awaitDone(id.toString());
        assertEquals("FAILED", job.getString("status"));
        assertEquals(3, job.getInt("attempts"));
        assertEquals("gave up after 3 attempts: trainer died (heartbeat 7 min old)", job.getString("error"));
        assertEquals("trainer died (heartbeat 7 min old)", job.getString("lastError"));
        given().get("/v1/interventions/" + name).then().statusCode(404);
        Management.given().get("/q/metrics").then().statusCode(200)
                .body(containsString("steergate_retraining_recovered_total{action=\"gave-up\"}"));
    }
}
