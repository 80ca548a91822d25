package io.steergate.testing;

import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Every HTTP endpoint under /v1 with the roles allowed to call it and what such a call answers: the role matrix of
 * README "Authentication and roles", shared by AccessMatrixQuarkusTest and the black-box SecurityIT. Each call is
 * built to be cheap (mostly 400 or 404: no generation, no training).
 */
public final class HttpEndpoints {

    public static final String CLIENT = "client";
    public static final String REVIEWER = "reviewer";
    public static final String AUDITOR = "auditor";
    public static final String OPERATOR = "operator";
    public static final List<String> ROLES = List.of(CLIENT, REVIEWER, AUDITOR, OPERATOR);

    private static final Set<String> EVERY_ROLE = Set.copyOf(ROLES);
    private static final Set<String> OPERATORS = Set.of(OPERATOR);
    private static final Set<String> AUDIT_READERS = Set.of(AUDITOR, REVIEWER, OPERATOR);
    private static final Set<String> EVIDENCE_READERS = Set.of(AUDITOR, OPERATOR);
    private static final Set<String> TRIGGER_READERS = Set.of(REVIEWER, OPERATOR);
    public static final String JSON = "application/json";
    public static final String BYTES = "application/octet-stream";

    private HttpEndpoints() {}

    /** One endpoint: how to call it, its OpenAPI path template, which roles may, and what such a call answers. */
    public record Endpoint(String method, String path, String template, String contentType, String body, Set<String> roles,
            int allowedStatus) {

        /** What a caller holding only {@code role} gets (null role: no credential). */
        public int expectedFor(String role) {
            return role == null ? 401 : roles.contains(role) ? allowedStatus : 403;
        }
    }

    public static List<Endpoint> all() {
        String unknownJob = UUID.randomUUID().toString();
        return List.of(
                new Endpoint("POST", "/v1/generations", "/v1/generations", JSON,
                        "{\"id\":\"matrix-" + UUID.randomUUID() + "\",\"prompt\":\"\"}", Set.of(CLIENT), 400),
                new Endpoint("GET", "/v1/generations/matrix-none", "/v1/generations/{id}", null, null, Set.of(CLIENT, OPERATOR), 404),
                new Endpoint("GET", "/v1/interventions", "/v1/interventions", null, null, EVERY_ROLE, 200),
                new Endpoint("GET", "/v1/interventions/matrix-none", "/v1/interventions/{name}", null, null, EVERY_ROLE, 404),
                new Endpoint("POST", "/v1/interventions/matrix-none/versions", "/v1/interventions/{name}/versions", BYTES, "",
                        OPERATORS, 422),
                new Endpoint("POST", "/v1/interventions/matrix-none/versions/1/promote",
                        "/v1/interventions/{name}/versions/{version}/promote", null, null, OPERATORS, 404),
                new Endpoint("POST", "/v1/interventions/matrix-none/versions/1/retire",
                        "/v1/interventions/{name}/versions/{version}/retire", null, null, OPERATORS, 404),
                new Endpoint("POST", "/v1/interventions/matrix-none/train", "/v1/interventions/{name}/train", JSON,
                        "{\"method\":\"no-such-method\",\"promote\":true}", OPERATORS, 400),
                new Endpoint("GET", "/v1/policies", "/v1/policies", null, null, OPERATORS, 200),
                new Endpoint("GET", "/v1/policies/default", "/v1/policies/{id}", null, null, OPERATORS, 200),
                new Endpoint("POST", "/v1/policies/validate", "/v1/policies/validate", BYTES, "id: [", OPERATORS, 422),
                new Endpoint("POST", "/v1/policies/reload", "/v1/policies/reload", null, null, OPERATORS, 200),
                new Endpoint("GET", "/v1/audit", "/v1/audit", null, null, AUDIT_READERS, 200),
                new Endpoint("GET", "/v1/audit/999999999", "/v1/audit/{id}", null, null, AUDIT_READERS, 404),
                new Endpoint("POST", "/v1/audit/999999999/review", "/v1/audit/{id}/review", JSON, "{\"verdict\":\"ok\"}",
                        Set.of(REVIEWER), 404),
                // the matrix's keys hold tenant acme
                new Endpoint("GET", "/v1/audit/verify?tenant=acme", "/v1/audit/verify", null, null, EVIDENCE_READERS, 200),
                new Endpoint("GET", "/v1/audit/export?tenant=acme", "/v1/audit/export", null, null, EVIDENCE_READERS, 200),
                new Endpoint("GET", "/v1/audit/public-key", "/v1/audit/public-key", null, null, EVIDENCE_READERS, 200),
                new Endpoint("GET", "/v1/retraining-jobs", "/v1/retraining-jobs", null, null, OPERATORS, 200),
                new Endpoint("GET", "/v1/retraining-jobs/" + unknownJob, "/v1/retraining-jobs/{id}", null, null, OPERATORS, 404),
                new Endpoint("GET", "/v1/retraining-triggers", "/v1/retraining-triggers", null, null, TRIGGER_READERS, 200),
                new Endpoint("GET", "/v1/retraining-triggers/" + unknownJob, "/v1/retraining-triggers/{id}", null, null,
                        TRIGGER_READERS, 404),
                new Endpoint("GET", "/v1/prompt-sets", "/v1/prompt-sets", null, null, OPERATORS, 200),
                new Endpoint("GET", "/v1/prompt-sets/matrix-none", "/v1/prompt-sets/{name}", null, null, OPERATORS, 404),
                new Endpoint("POST", "/v1/prompt-sets/matrix-none", "/v1/prompt-sets/{name}", BYTES, "not jsonl", OPERATORS, 400),
                new Endpoint("GET", "/v1/keys", "/v1/keys", null, null, OPERATORS, 200),
                new Endpoint("POST", "/v1/keys", "/v1/keys", JSON, "{\"tenants\":[],\"roles\":[\"client\"]}", OPERATORS, 400),
                new Endpoint("DELETE", "/v1/keys/matrix-none", "/v1/keys/{id}", null, null, OPERATORS, 404),
                // the OpenAI-compatible door (its errors are {"error": {..., "code"}}): a non-boolean stream is refused before any work
                new Endpoint("POST", "/v1/completions", "/v1/completions", JSON,
                        "{\"model\":\"stories260K\",\"prompt\":\"a\",\"stream\":\"yes\"}", Set.of(CLIENT), 400),
                new Endpoint("POST", "/v1/chat/completions", "/v1/chat/completions", JSON,
                        "{\"model\":\"stories260K\",\"messages\":[],\"stream\":\"yes\"}", Set.of(CLIENT), 400),
                new Endpoint("GET", "/v1/models", "/v1/models", null, null, Set.of(CLIENT, OPERATOR), 200));
    }
}
