package io.steergate.it;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.steergate.testing.TopicClient;

/** GenerationRequest JSON as docs/architecture.md 4.2 spells it, built without application classes. */
final class GenerationRequests {

    private GenerationRequests() {
    }

    static ObjectNode of(String id, String tenant, String prompt, int maxTokens, double temperature) {
        ObjectNode request = TopicClient.json().createObjectNode();
        request.put("id", id);
        request.put("tenant", tenant);
        request.put("prompt", prompt);
        request.put("maxTokens", maxTokens);
        request.put("temperature", temperature);
        return request;
    }
}
