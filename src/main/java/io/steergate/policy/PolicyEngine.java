package io.steergate.policy;

import io.steergate.messages.GenerationRequest;
import io.steergate.messages.PolicyRef;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Decides the plan for a request. This slice has one built-in policy, {@code default}, that covers every tenant and
 * applies no intervention; YAML policies with rules, caps and scorers replace it (issue 4). Its version is the sha256
 * of its definition, as every policy version will be.
 */
@ApplicationScoped
public class PolicyEngine {

    static final String DEFAULT_POLICY = "id: default\ntenants: ['*']\nrules: []\n";

    private final PolicyRef defaultPolicy = new PolicyRef("default", "sha256:" + sha256(DEFAULT_POLICY));

    public Decision decide(GenerationRequest request) {
        return new Decision(defaultPolicy, List.of());
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
