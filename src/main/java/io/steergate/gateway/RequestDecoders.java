package io.steergate.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/** Holds the one {@link RequestDecoder} built from the configured limits, shared by the Kafka and HTTP paths. */
@ApplicationScoped
public class RequestDecoders {

    private final RequestDecoder decoder;

    @Inject
    public RequestDecoders(ObjectMapper json, LimitsConfig limits) {
        this.decoder = new RequestDecoder(json, limits.toLimits());
    }

    public RequestDecoder decoder() {
        return decoder;
    }
}
