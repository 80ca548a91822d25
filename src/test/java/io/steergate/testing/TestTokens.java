package io.steergate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.lang.JoseException;

/** Access tokens as an identity provider would issue them, signed with the test key pair of {@link CredentialsResource}. */
public final class TestTokens {

    private TestTokens() {}

    /** A token for {@code subject} with the given tenant and roles claims (tenant, groups), valid for ten minutes. */
    public static String token(String subject, List<String> tenants, List<String> roles) {
        return sign(subject, tenants, roles, CredentialsResource.ISSUER, Instant.now().plusSeconds(600));
    }

    public static String sign(String subject, List<String> tenants, List<String> roles, String issuer, Instant expiresAt) {
        return sign(signingKey(), subject, tenants, roles, issuer, expiresAt);
    }

    /** As {@link #sign(String, List, List, String, Instant)} with a key of the caller's (the black-box suite's identity provider). */
    public static String sign(PrivateKey key, String subject, List<String> tenants, List<String> roles, String issuer,
            Instant expiresAt) {
        JwtClaims claims = new JwtClaims();
        claims.setIssuer(issuer);
        claims.setSubject(subject);
        claims.setClaim("upn", subject);
        claims.setIssuedAt(org.jose4j.jwt.NumericDate.fromSeconds(expiresAt.getEpochSecond() - 1200));
        claims.setExpirationTime(org.jose4j.jwt.NumericDate.fromSeconds(expiresAt.getEpochSecond()));
        claims.setStringListClaim("tenant", tenants);
        claims.setStringListClaim("groups", roles);
        JsonWebSignature jws = new JsonWebSignature();
        jws.setPayload(claims.toJson());
        jws.setAlgorithmHeaderValue(AlgorithmIdentifiers.RSA_USING_SHA256);
        jws.setHeader("typ", "JWT");
        jws.setKey(key);
        try {
            return jws.getCompactSerialization();
        } catch (JoseException e) {
            throw new IllegalStateException("cannot sign a test token", e);
        }
    }

    private static PrivateKey signingKey() {
        Path file = Path.of(ConfigProvider.getConfig().getValue("steergate.test.jwt-signing-key", String.class));
        try {
            String pem = Files.readString(file).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
            return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the test signing key is unreadable", e);
        }
    }
}
