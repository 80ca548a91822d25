package io.steergate.messages;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/**
 * A generation request as it arrives on {@code steer.requests} or {@code POST /v1/generations} (docs/architecture.md 4.2).
 * Instances built by {@code RequestDecoder} are validated and carry every default filled in.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GenerationRequest(
        String id,
        String tenant,
        String prompt,
        Integer maxTokens,
        Double temperature,
        Double topP,
        Long seed,
        List<String> styles,
        Map<String, String> labels,
        List<SteeringAsk> steering) {

    /** An explicit steering ask; the policy decides what is applied. */
    public record SteeringAsk(String intervention, Double strength) {}
}
