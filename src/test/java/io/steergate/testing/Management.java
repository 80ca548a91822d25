package io.steergate.testing;

import io.restassured.RestAssured;
import io.restassured.specification.RequestSpecification;
import org.eclipse.microprofile.config.ConfigProvider;

/** Requests to the test application's management interface (health, metrics, OpenAPI), on its own random port. */
public final class Management {

    private Management() {}

    /** {@code RestAssured.given()} aimed at the management port that Quarkus chose for this test run. */
    public static RequestSpecification given() {
        return RestAssured.given().port(ConfigProvider.getConfig().getValue("quarkus.management.test-port", Integer.class));
    }
}
