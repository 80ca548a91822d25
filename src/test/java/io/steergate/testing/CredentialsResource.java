package io.steergate.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Map;

/**
 * Credentials configuration of the test application: a fresh bootstrap directory (so the first start's keys are
 * written as on the embedded default), and an RSA key pair standing in for an identity provider, whose public half
 * verifies JWTs and whose private half {@link TestTokens} signs them with (path in steergate.test.jwt-signing-key).
 */
public class CredentialsResource implements QuarkusTestResourceLifecycleManager {

    static final String ISSUER = "https://idp.test.steergate.io";
    private Path dir;

    @Override
    public Map<String, String> start() {
        try {
            dir = Files.createTempDirectory("steergate-credentials");
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            KeyPair pair = generator.generateKeyPair();
            Path privateKey = dir.resolve("idp-private.pem");
            Files.writeString(privateKey, pem("PRIVATE KEY", pair.getPrivate().getEncoded()), StandardCharsets.US_ASCII);
            return Map.of(
                    "steergate.auth.bootstrap-dir", dir.resolve("bootstrap").toString(),
                    // inline rather than a location: in test mode smallrye-jwt configures an inline key pair of its own,
                    // and an inline key wins over a location
                    "mp.jwt.verify.publickey", Base64.getEncoder().encodeToString(pair.getPublic().getEncoded()),
                    "mp.jwt.verify.issuer", ISSUER,
                    "steergate.test.jwt-signing-key", privateKey.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has RSA", e);
        }
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    @Override
    public void stop() {
        // the temporary directory holds test keys only; the OS cleans it
    }
}
