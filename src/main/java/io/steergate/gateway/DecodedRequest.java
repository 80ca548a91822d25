package io.steergate.gateway;

import io.steergate.messages.ErrorInfo;
import io.steergate.messages.GenerationRequest;

/** What {@link RequestDecoder} made of raw request bytes: a valid request, a rejection addressed to an id, or neither. */
public sealed interface DecodedRequest {

    /** The request id, when readable. */
    default String id() {
        if (this instanceof Valid valid) {
            return valid.request().id();
        }
        return this instanceof Invalid invalid ? invalid.id() : null;
    }

    /** The tenant, when readable and valid. */
    default String tenant() {
        if (this instanceof Valid valid) {
            return valid.request().tenant();
        }
        return this instanceof Invalid invalid ? invalid.tenant() : null;
    }

    /** Every field valid, defaults filled in. */
    record Valid(GenerationRequest request) implements DecodedRequest {}

    /** The id is readable, something else is wrong: answered with a REJECTED result. tenant may be null. */
    record Invalid(String id, String tenant, ErrorInfo error) implements DecodedRequest {}

    /** No usable id: the original bytes go to the dead-letter topic with this reason. */
    record Unreadable(ErrorInfo error) implements DecodedRequest {}
}
