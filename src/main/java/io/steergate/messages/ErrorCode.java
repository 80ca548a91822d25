package io.steergate.messages;

/** Error codes used in results, DLQ headers and HTTP error bodies. */
public enum ErrorCode {
    /** The message bytes are not valid UTF-8. */
    INVALID_ENCODING,
    /** The message is not JSON. */
    NOT_JSON,
    /** The message is JSON but not an object. */
    NOT_AN_OBJECT,
    /** The id is missing or malformed, so no result can be addressed. */
    INVALID_ID,
    /** A field is missing, of the wrong type or out of range. */
    INVALID_REQUEST,
    /** The message exceeds steergate.limits.message-bytes. */
    MESSAGE_TOO_LARGE,
    /** The prompt does not fit the model's context together with maxTokens. */
    PROMPT_TOO_LONG,
    /** A job could not be generated (our fault). */
    GENERATION_FAILED,
    /** No result within the HTTP wait. */
    TIMEOUT,
    /** An accepted request got no outcome within steergate.gateway.request-deadline: it ends FAILED with this code. */
    TIMED_OUT,
    /**
     * A job failed or took its worker down steergate.worker.max-attempts times: it went to the job dead-letter topic
     * with the reason and its request ends FAILED with this code.
     */
    JOB_DEAD_LETTERED,
    /** The result would exceed steergate.gateway.max-result-bytes; it is never published cut short. FAILED. */
    RESULT_TOO_LARGE,
    /** The database refused to store a request for good; the message says why. The request ends FAILED. */
    STORAGE_FAILED,
    /** A dependency (the database or the broker) is unavailable; retry after the Retry-After header's seconds. */
    UNAVAILABLE,
    /** No such resource. */
    NOT_FOUND,
    /** An intervention map that does not fit the served model, or a malformed map file. */
    MAP_REFUSED,
    /** The request conflicts with the resource's state (promoting a retired version, a name already taken). */
    CONFLICT,
    /**
     * The tenant's policy refuses the request: an explicit steering ask under {@code explicitSteering: deny} (the
     * message names the intervention), or no policy covers the tenant.
     */
    POLICY_DENIED,
    /** A requested style is not offered by the tenant's policy; the message names the style. */
    STYLE_NOT_ALLOWED,
    /** Two requested styles contradict each other under the tenant's policy; the message names both. */
    STYLE_CONFLICT,
    /** The plan names an intervention the registry does not know or that has no active version; the message names it. */
    UNKNOWN_INTERVENTION,
    /** HTTP: no valid credential (missing, unreadable, unknown, expired or revoked); 401. */
    UNAUTHENTICATED,
    /** HTTP: the credential is valid but lacks the role (or the tenant) the endpoint needs; 403. */
    FORBIDDEN,
    /**
     * The body names a tenant other than the one that fixes the request's: over HTTP its credential's, over Kafka in the
     * per-tenant mode its topic's (a record on a topic that is no tenant's requests topic is dead-lettered with it).
     */
    TENANT_MISMATCH,
    /**
     * The tenant has used a quota (requests per minute, completion tokens per day; steergate.quotas): HTTP 429 with
     * Retry-After and nothing stored, REJECTED over Kafka. The message names the quota and its limit.
     */
    QUOTA_EXCEEDED,
    /**
     * Every rung of the policy's escalation ladder produced an output its scorers still flag, and the policy withholds
     * such outputs: REJECTED, the message names the scores over their thresholds; the attempts are in the audit record.
     */
    OUTPUT_WITHHELD,
    /**
     * The client closed its stream before the output was complete; the worker stopped generating it. FAILED, with the
     * tokens generated until then charged and kept in the audit record.
     */
    CANCELLED;

    /** Whether {@code code} names one of these (codes arrive as text from workers and the database). */
    public static boolean isKnown(String code) {
        for (ErrorCode known : values()) {
            if (known.name().equals(code)) {
                return true;
            }
        }
        return false;
    }
}
