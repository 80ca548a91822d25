package io.steergate.security;

import io.quarkus.security.identity.request.BaseAuthenticationRequest;

/** An API key presented as {@code Authorization: Bearer sgk_...}, to be checked by {@link ApiKeyIdentityProvider}. */
public class ApiKeyCredential extends BaseAuthenticationRequest {

    private final String key;

    public ApiKeyCredential(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }
}
