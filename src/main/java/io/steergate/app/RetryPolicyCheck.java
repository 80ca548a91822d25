package io.steergate.app;

import io.quarkus.runtime.StartupEvent;
import io.steergate.resilience.Retry;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * Reads the retry policy (steergate.retry.*) before anything else starts, so that a value that cannot work stops the
 * start with the property's name instead of surfacing at the first failure some step retries.
 */
@ApplicationScoped
public class RetryPolicyCheck {

    void check(@Observes @Priority(1) StartupEvent event) {
        try {
            Retry.policy();
        } catch (ExceptionInInitializerError e) {
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        }
    }
}
