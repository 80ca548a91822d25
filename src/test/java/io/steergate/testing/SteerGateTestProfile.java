package io.steergate.testing;

import java.util.List;

import io.quarkus.test.junit.QuarkusTestProfile;

/**
 * The one test profile of the @QuarkusTests: {@code @TestProfile(SteerGateTestProfile.class)} on every
 * test class makes Quarkus boot the application once, against one embedded broker and database.
 */
public class SteerGateTestProfile implements QuarkusTestProfile {

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(KafkaAndPostgresResource.class), new TestResourceEntry(CredentialsResource.class));
    }
}
